/*
 * Fakes of the platform services for the flow tests on the desktop JVM, named as fakes. The
 * app implements the same interfaces with Android's framework (com.palmkit.app.platform).
 */
package com.palmkit.app.flow

import com.palmkit.core.SecureStore
import java.io.File
import java.nio.ByteBuffer
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import org.junit.Assert.assertEquals

/** An in-memory Keystore-backed store; a restarted app gets the same instance. */
class FakeKeystoreStore : SecureStore {
    val entries = ConcurrentHashMap<String, String>()
    override fun load(key: String): String? = entries[key]
    override fun save(key: String, secret: String) { entries[key] = secret }
    override fun delete(key: String) { entries.remove(key) }
}

/** The permission prompt, answered as told; counts the prompts. */
class FakeCameraPermission(private val answer: CameraAccess) : CameraPermission {
    val requests = AtomicInteger()
    override suspend fun request(): CameraAccess {
        requests.incrementAndGet()
        return answer
    }
}

/** A camera that records being started and stopped, or cannot open as if in use. */
class FakeCamera(private val inUse: Boolean = false) : FrameSource {
    val starts = AtomicInteger()
    @Volatile var running = false
    override fun start() {
        if (inUse) throw CameraUnavailableException("the camera is in use by another app")
        starts.incrementAndGet()
        running = true
    }
    override fun stop() { running = false }
}

/** The system browser: records the pages opened. */
class FakeBrowser : Browser {
    val opened = CopyOnWriteArrayList<String>()
    override fun open(url: String) { opened.add(url) }
}

/** TalkBack: records what would have been spoken. */
class FakeTalkBack : Announcer {
    val spoken = CopyOnWriteArrayList<String>()
    override fun announce(text: String) { spoken.add(text) }
}

/** The vibrator: counts capture ticks. */
class FakeVibrator : Haptics {
    val ticks = AtomicInteger()
    override fun captured() { ticks.incrementAndGet() }
}

/** A clock the test moves. */
class FakeClock {
    val now = AtomicLong(10_000)
}

/** What `cargo xtask test-kotlin` hands the tests (see android/palmkit's TestEnv). */
object AppTestEnv {
    fun env(name: String): String =
        System.getenv(name) ?: error("$name is not set: run this through `cargo xtask test-kotlin`")

    fun configJson(): String = File(env("PALMKIT_TEST_CONFIG")).readText()

    /** Plays the shopper at the login page (`palmkit approve-login`); returns the redirect. */
    fun browser(url: String, cancel: Boolean = false): String {
        val args = mutableListOf(env("PALMKIT_CLI"), "approve-login", "--config", env("PALMKIT_TEST_CONFIG"))
        if (cancel) args.add("--cancel")
        args.add(url)
        val process = ProcessBuilder(args).redirectError(ProcessBuilder.Redirect.INHERIT).start()
        val out = process.inputStream.bufferedReader().readText().trim()
        assertEquals("approve-login failed", 0, process.waitFor())
        return out
    }

    /**
     * The exported sensor frame (NV21, rotation 90) as the three planes an ImageReader in
     * YUV_420_888 gives on most phones: Y with padded rows, then U and V as two views of one
     * interleaved chroma buffer (pixel stride 2), each view's last row short.
     */
    /** The folder `palmkit export-frames` wrote, and its `frames.properties`. */
    fun frames(): Pair<File, Map<String, String>> {
        val dir = File(env("PALMKIT_TEST_FRAMES"))
        val props = File(dir, "frames.properties").readLines().mapNotNull {
            val parts = it.split("=", limit = 2)
            if (parts.size == 2) parts[0] to parts[1] else null
        }.toMap()
        return dir to props
    }

    fun yuvFrame(timestampMs: Long, padding: Int = 32): YuvFrame {
        val (dir, props) = frames()
        val w = props.getValue("nv21.width").toInt()
        val h = props.getValue("nv21.height").toInt()
        val nv21 = File(dir, "frame.nv21").readBytes()
        val row = w + padding
        val y = ByteArray(row * (h - 1) + w)
        for (r in 0 until h) System.arraycopy(nv21, r * w, y, r * row, w)
        // Interleaved chroma in V,U order (NV21 memory): V's view starts at 0, U's at 1.
        val chroma = ByteArray(row * (h / 2 - 1) + w)
        for (r in 0 until h / 2) System.arraycopy(nv21, w * h + r * w, chroma, r * row, w)
        val v = ByteBuffer.wrap(chroma, 0, chroma.size - 1).slice()
        val u = ByteBuffer.wrap(chroma, 1, chroma.size - 1).slice()
        return YuvFrame(
            w, h, Plane(ByteBuffer.wrap(y), row, 1), Plane(u, row, 2), Plane(v, row, 2),
            rotationDegrees = props.getValue("nv21.rotation").toInt(), mirrored = false, timestampMs = timestampMs,
        )
    }
}
