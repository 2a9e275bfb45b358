/*
 * The frame path's Kotlin side (not a test: `cargo xtask frame-path` runs its main with the
 * release build of the core and a test server, then the Rust bench on the same frame): per
 * frame, the time of the analysis through the generated bindings (JNA) by an
 * EnrollmentSession capturing a hand (signed in and consented first, as in the app), of a
 * call whose bytes cross the FFI but are refused before any analysis (the cost of the
 * crossing and its copies), and of packing the camera's three YUV_420_888 planes into one
 * buffer. Prints medians.
 */
package com.palmkit.app.flow

import com.palmkit.core.EnrollmentSession
import com.palmkit.core.FrameInfo
import com.palmkit.core.PalmKitException
import com.palmkit.core.PixelFormat
import com.palmkit.core.parseServiceConfig
import java.io.File
import kotlinx.coroutines.runBlocking

private const val RUNS = 60

private fun median(times: MutableList<Double>): Double = times.sorted()[times.size / 2]

private fun timed(runs: Int, warmup: Int, body: (Int) -> Unit): MutableList<Double> {
    val times = mutableListOf<Double>()
    for (i in 0 until runs + warmup) {
        val start = System.nanoTime()
        body(i)
        if (i >= warmup) times.add((System.nanoTime() - start) / 1e6)
    }
    return times
}

fun main() {
    val (dir, props) = AppTestEnv.frames()
    val w = props.getValue("nv21.width").toUInt()
    val h = props.getValue("nv21.height").toUInt()
    val nv21 = File(dir, "frame.nv21").readBytes()
    fun info(at: Int, rotation: UInt = props.getValue("nv21.rotation").toUInt()) =
        FrameInfo(PixelFormat.NV21, w, h, w, w, 0u, 0uL, 0uL, rotation, false, 1_000uL + 33uL * at.toULong())

    val analyzer = EnrollmentSession(parseServiceConfig(AppTestEnv.configJson()), FakeKeystoreStore())
    runBlocking {
        analyzer.restore()
        analyzer.finishLogin(AppTestEnv.browser(analyzer.startLogin()))
        analyzer.giveConsent("biometric-2026-12")
    }
    analyzer.loadModels(AppTestEnv.env("PALMKIT_TEST_MODELS"))
    analyzer.startHand(null)
    val analysis = timed(RUNS, 5) { analyzer.analyzeFrame(nv21, info(it)) }
    val crossing = timed(RUNS * 5, 20) {
        try {
            analyzer.analyzeFrame(nv21, info(it, rotation = 45u))
            error("a 45° frame was analyzed")
        } catch (e: PalmKitException.InvalidFrame) {
        }
    }
    val planes = AppTestEnv.yuvFrame(0)
    val packing = timed(RUNS * 5, 20) { planes.packed() }
    println(
        "frame_path (Kotlin, JNA): ${w}x$h NV21 (${nv21.size} bytes), analysis through the bindings median " +
            "%.2f ms; the crossing alone (bytes lowered and lifted, refused before analysis) %.3f ms; ".format(
                median(analysis), median(crossing),
            ) + "packing three YUV_420_888 planes (%d bytes) %.3f ms".format(planes.packed().first.size, median(packing)),
    )
    analyzer.close()
}
