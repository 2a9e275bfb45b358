package com.palmkit.core

import com.palmkit.core.model.*
import java.io.File
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/**
 * A real palm photo's bytes fed to a capturing session as camera frames in two formats —
 * NV21 from a landscape sensor (rotation 90) and upright BGRA — written by
 * `palmkit export-frames`. The photo is an open left palm that passes every check. Each
 * `startHand` starts the analysis afresh (tracking, motion, the spoof layers).
 */
class FrameAnalysisTest {
    private val dir = TestFrames.dir
    private fun prop(key: String): UInt = TestFrames.prop(key)
    private fun nv21(at: ULong) = TestFrames.nv21(at)
    private fun bgra(at: ULong, mirrored: Boolean = false) = TestFrames.bgra(at, mirrored)

    /** A session capturing either hand. */
    private fun capturing(hand: Hand? = null) = runBlocking { TestEnv.capturing(hand) }

    @Test
    fun bothFormatsShowAnOpenLeftPalmReadyToCapture() {
        val nv21 = File(dir, "frame.nv21").readBytes()
        val bgra = File(dir, "frame.bgra").readBytes()
        capturing().use { session ->
            for ((bytes, info) in listOf(nv21 to nv21(0uL), bgra to bgra(0uL))) {
                session.startHand(null)
                val result = session.analyzeFrame(bytes, info)
                val hand = result.hand ?: error("${info.format}: no hand")
                assertEquals(info.format.toString(), Hand.LEFT, hand.handedness)
                assertTrue(hand.palmFacing)
                assertEquals(info.format.toString(), GuidanceCode.HOLD_STEADY, result.guidance)
                assertEquals("hold_steady", result.guidance.code())
                assertEquals("guidance.hold_steady", result.guidance.messageKey())
                assertTrue(result.captureReady)
                // x, y, z for each of the 21 landmarks, in upright pixels: inside the
                // 900x1600 portrait picture.
                assertEquals(63, hand.landmarks.size)
                val xs = hand.landmarks.filterIndexed { i, _ -> i % 3 == 0 }
                assertTrue(xs.all { it >= 0f && it < prop("bgra.width").toFloat() })
                assertEquals(4, hand.bounds.size)
            }
        }
    }

    @Test
    fun yuv420888PlanesGiveTheSameAnswerAsNv21() {
        // CameraX hands YUV_420_888 as three planes; on most devices U and V are
        // interleaved (pixel stride 2). Lay the planes out as such an app would copy them:
        // Y, then the V/U plane, with explicit offsets — and also as fully planar I420
        // (pixel stride 1), the other layout devices use.
        val nv21 = File(dir, "frame.nv21").readBytes()
        val w = prop("nv21.width").toInt()
        val h = prop("nv21.height").toInt()
        val ySize = w * h
        val chroma = (w / 2) * (h / 2)
        val i420 = ByteArray(ySize + 2 * chroma)
        System.arraycopy(nv21, 0, i420, 0, ySize)
        for (i in 0 until chroma) {
            i420[ySize + i] = nv21[ySize + 2 * i + 1] // U
            i420[ySize + chroma + i] = nv21[ySize + 2 * i] // V
        }
        val semiPlanar = nv21(0uL).copy(
            format = PixelFormat.YUV420888, uvPixelStride = 2u,
            vOffset = ySize.toULong(), uOffset = (ySize + 1).toULong(),
        )
        val planar = nv21(0uL).copy(
            format = PixelFormat.YUV420888, uvPixelStride = 1u, uvRowStride = (w / 2).toUInt(),
            uOffset = ySize.toULong(), vOffset = (ySize + chroma).toULong(),
        )
        capturing().use { session ->
            val reference = session.analyzeFrame(nv21, nv21(0uL))
            for ((bytes, info) in listOf(nv21 to semiPlanar, i420 to planar)) {
                session.startHand(null)
                val result = session.analyzeFrame(bytes, info)
                assertEquals("uv pixel stride ${info.uvPixelStride}", reference.guidance, result.guidance)
                assertEquals(reference.hand?.handedness, result.hand?.handedness)
                for ((a, b) in reference.hand!!.landmarks.zip(result.hand!!.landmarks)) {
                    assertEquals(a, b, 1.5f)
                }
            }
        }
    }

    @Test
    fun aSteadyPalmIsAutoCapturedAndUploadedWithoutTheImageCrossingTheFfi() = runBlocking {
        val bgra = File(dir, "frame.bgra").readBytes()
        TestEnv.capturing(Hand.LEFT).use { session ->
            // The same photo as every frame is no live hand: only report-only liveness
            // captures it (the next test shows the enforced one refusing).
            session.setLivenessPolicy(LivenessPolicy.REPORT_ONLY)
            session.startHand(Hand.LEFT)
            var captured: Int? = null
            for (i in 0 until 8) {
                val result = session.analyzeFrame(bgra, bgra(1000uL + 100uL * i.toULong()))
                if (result.captured) {
                    captured = i
                    assertEquals(GuidanceCode.CAPTURED, result.guidance)
                    // Reported all the same.
                    assertEquals(Verdict.FAIL, result.spoof.verdict)
                    break
                }
                assertEquals(GuidanceCode.HOLD_STEADY, result.guidance)
            }
            // Five good frames spanning 400 ms: the fifth captures. The image stays in the
            // core: the app learns only that the hand is held.
            assertEquals(4, captured)
            assertEquals(SessionState.Captured(listOf(Hand.LEFT)), session.snapshot().state)
            session.choosePayment(TestEnv.addTestCard(session).id)
            val submitted = session.upload()
            assertEquals(SessionState.PendingStoreMatch, submitted.state)
            assertEquals(HandStatus.PENDING_MATCH, submitted.left)
            // Taken once: no capture is held any more.
            try {
                session.analyzeFrame(bgra, bgra(2000uL))
                fail("frames were analyzed after the upload")
            } catch (e: PalmKitException.OutOfOrder) {
                assertTrue(e.reason, e.reason.contains("pending store match"))
            }
        }
    }

    @Test
    fun aPhotoFedAsFramesIsRefusedAndTheReasonNamed() {
        val bgra = File(dir, "frame.bgra").readBytes()
        capturing(Hand.LEFT).use { session ->
            val results = (0 until 8).map { i ->
                session.analyzeFrame(bgra, bgra(1000uL + 100uL * i.toULong()))
            }
            assertTrue("a photo was captured", results.none { it.captured })
            val last = results.last()
            assertEquals(GuidanceCode.NOT_LIVE, last.guidance)
            assertEquals("guidance.not_live", last.guidance.messageKey())
            assertEquals(Verdict.FAIL, last.spoof.verdict)
            val integrity = last.spoof.layers.first { it.layer == Layer.CAPTURE_INTEGRITY }
            assertEquals(Outcome.FAIL, integrity.outcome)
            assertTrue(integrity.reason, integrity.reason.contains("same picture"))
            assertEquals(
                listOf("capture_integrity", "screen_replay", "print", "motion_3d", "challenge"),
                last.spoof.layers.map { it.layer.code() },
            )
            assertEquals(Layer.values().toList(), last.spoof.layers.map { it.layer })
            // A verdict that stays `fail` for a second ends the capture, retryably.
            var state = session.snapshot().state
            for (i in 8 until 20) {
                if (state is SessionState.Failed) break
                session.analyzeFrame(bgra, bgra(1000uL + 100uL * i.toULong()))
                state = session.snapshot().state
            }
            val failed = state as? SessionState.Failed ?: error("still $state after 2 s of a photo")
            assertEquals(FailureReason.SPOOF_SUSPECTED, failed.failure.reason)
            assertTrue(failed.failure.retryable)
        }
    }

    @Test
    fun theWrongHandAndABadFrameAreNamed() {
        val bgra = File(dir, "frame.bgra").readBytes()
        capturing(Hand.RIGHT).use { session ->
            assertEquals(GuidanceCode.USE_RIGHT_HAND, session.analyzeFrame(bgra, bgra(0uL)).guidance)
            // The front camera's mirror makes the left palm look like a right one.
            session.startHand(Hand.RIGHT)
            val mirrored = session.analyzeFrame(bgra, bgra(0uL, mirrored = true))
            assertEquals(Hand.LEFT, mirrored.hand?.handedness)
            try {
                session.analyzeFrame(bgra.copyOf(bgra.size / 2), bgra(0uL))
                fail("half a frame was analyzed")
            } catch (e: PalmKitException.InvalidFrame) {
                assertTrue(e.reason, e.reason.contains("buffer"))
            }
            try {
                session.analyzeFrame(bgra, bgra(0uL).copy(rotationDegrees = 45u))
                fail("a 45 degree rotation was accepted")
            } catch (e: PalmKitException.InvalidFrame) {
                assertTrue(e.reason, e.reason.contains("45"))
            }
        }
        EnrollmentSession(TestEnv.config(), FakeSecureStore()).use { session ->
            try {
                session.loadModels("/nonexistent")
                fail("models were loaded from a folder without them")
            } catch (e: PalmKitException.ModelUnavailable) {
                assertNotNull(e.reason)
            }
        }
    }
}
