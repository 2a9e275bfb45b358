package com.palmkit.core

import java.io.File
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/**
 * A real palm photo's bytes fed to the analyzer as camera frames in two formats — NV21 from
 * a landscape sensor (rotation 90) and upright BGRA — written by `palmkit export-frames`.
 * The photo is an open left palm that passes every check.
 */
class FrameAnalysisTest {
    private val dir = TestFrames.dir
    private fun prop(key: String): UInt = TestFrames.prop(key)
    private fun nv21(at: ULong) = TestFrames.nv21(at)
    private fun bgra(at: ULong, mirrored: Boolean = false) = TestFrames.bgra(at, mirrored)

    private fun analyzer() = FrameAnalyzer(TestEnv.env("PALMKIT_TEST_MODELS"))

    @Test
    fun bothFormatsShowAnOpenLeftPalmReadyToCapture() {
        val nv21 = File(dir, "frame.nv21").readBytes()
        val bgra = File(dir, "frame.bgra").readBytes()
        for ((bytes, info) in listOf(nv21 to nv21(0uL), bgra to bgra(0uL))) {
            val result = analyzer().use { it.analyzeFrame(bytes, info) }
            assertTrue("${info.format}: no hand", result.handFound)
            assertEquals(info.format.toString(), Hand.LEFT, result.handedness)
            assertEquals(true, result.palmFacing)
            assertEquals(info.format.toString(), "hold_steady", result.guidance)
            assertEquals("guidance.hold_steady", result.messageKey)
            assertTrue(result.captureReady)
            assertEquals(42, result.landmarks.size)
            // Landmarks are upright pixels: inside the 900x1600 portrait picture.
            val xs = result.landmarks.filterIndexed { i, _ -> i % 2 == 0 }
            assertTrue(xs.all { it >= 0f && it < prop("bgra.width").toFloat() })
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
        val reference = analyzer().use { it.analyzeFrame(nv21, nv21(0uL)) }
        for ((bytes, info) in listOf(nv21 to semiPlanar, i420 to planar)) {
            val result = analyzer().use { it.analyzeFrame(bytes, info) }
            assertEquals("uv pixel stride ${info.uvPixelStride}", reference.guidance, result.guidance)
            assertEquals(reference.handedness, result.handedness)
            for ((a, b) in reference.landmarks.zip(result.landmarks)) {
                assertEquals(a, b, 1.5f)
            }
        }
    }

    @Test
    fun aSteadyPalmIsAutoCapturedAndUploadedWithoutTheImageCrossingTheFfi() = runBlocking {
        val bgra = File(dir, "frame.bgra").readBytes()
        analyzer().use { analyzer ->
            // The same photo as every frame is no live hand: only a report-only analyzer
            // captures it (the next test shows the enforced one refusing).
            analyzer.setLivenessPolicy(LivenessPolicy.REPORT_ONLY)
            analyzer.startHand(Hand.LEFT)
            var captured: Int? = null
            for (i in 0 until 8) {
                val result = analyzer.analyzeFrame(bgra, bgra(1000uL + 100uL * i.toULong()))
                if (result.captured) {
                    captured = i
                    assertEquals("captured", result.guidance)
                    // Reported all the same.
                    assertEquals(SpoofVerdict.FAIL, result.spoof.verdict)
                    break
                }
                assertEquals("hold_steady", result.guidance)
            }
            // Five good frames spanning 400 ms: the fifth captures.
            assertEquals(4, captured)
            TestEnv.signedIn().use { kit ->
                val draft = kit.createEnrollment(listOf(Hand.LEFT), null)
                val receipt = kit.uploadAutoCapture(draft.id, Hand.LEFT, analyzer, UploadProgressListenerNone, UploadCancel())
                assertTrue(receipt.length > 1000uL)
                val submitted = kit.submitEnrollment(draft.id, listOf(receipt.uploadId), newIdempotencyKey())
                assertEquals(EnrollmentStatus.PENDING_STORE_MATCH, submitted.status)
                // Taken once: a second upload has nothing to send.
                try {
                    kit.uploadAutoCapture(draft.id, Hand.LEFT, analyzer, UploadProgressListenerNone, UploadCancel())
                    fail("the same capture was uploaded twice")
                } catch (e: PalmKitException.InvalidCapture) {
                    assertTrue(e.reason, e.reason.contains("no auto-capture"))
                }
            }
        }
    }

    @Test
    fun aPhotoFedAsFramesIsRefusedAndTheReasonNamed() {
        val bgra = File(dir, "frame.bgra").readBytes()
        analyzer().use { analyzer ->
            analyzer.startHand(Hand.LEFT)
            val results = (0 until 10).map { i ->
                analyzer.analyzeFrame(bgra, bgra(1000uL + 100uL * i.toULong()))
            }
            assertTrue("a photo was captured", results.none { it.captured })
            val last = results.last()
            assertEquals("not_live", last.guidance)
            assertEquals("guidance.not_live", last.messageKey)
            assertEquals(SpoofVerdict.FAIL, last.spoof.verdict)
            val integrity = last.spoof.layers.first { it.kind == SpoofLayerKind.CAPTURE_INTEGRITY }
            assertEquals(LayerOutcome.FAIL, integrity.outcome)
            assertTrue(integrity.reason, integrity.reason.contains("same picture"))
            assertEquals(
                listOf("capture_integrity", "screen_replay", "print", "motion_3d", "challenge"),
                last.spoof.layers.map { it.layer },
            )
            assertEquals(SpoofLayerKind.values().toList(), last.spoof.layers.map { it.kind })
        }
    }

    @Test
    fun theWrongHandAndABadFrameAreNamed() {
        val bgra = File(dir, "frame.bgra").readBytes()
        analyzer().use { analyzer ->
            analyzer.startHand(Hand.RIGHT)
            assertEquals("use_right_hand", analyzer.analyzeFrame(bgra, bgra(0uL)).guidance)
            // The front camera's mirror makes the left palm look like a right one.
            analyzer.startHand(Hand.RIGHT)
            val mirrored = analyzer.analyzeFrame(bgra, bgra(0uL, mirrored = true))
            assertEquals(Hand.LEFT, mirrored.handedness)
            try {
                analyzer.analyzeFrame(bgra.copyOf(bgra.size / 2), bgra(0uL))
                fail("half a frame was analyzed")
            } catch (e: PalmKitException.InvalidFrame) {
                assertTrue(e.reason, e.reason.contains("buffer"))
            }
            try {
                analyzer.analyzeFrame(bgra, bgra(0uL).copy(rotationDegrees = 45u))
                fail("a 45 degree rotation was accepted")
            } catch (e: PalmKitException.InvalidFrame) {
                assertTrue(e.reason, e.reason.contains("45"))
            }
        }
        try {
            FrameAnalyzer("/nonexistent")
            fail("an analyzer without models was made")
        } catch (e: PalmKitException.ModelUnavailable) {
            assertNotNull(e.reason)
        }
    }
}

private object UploadProgressListenerNone : UploadProgressListener {
    override fun onProgress(confirmed: ULong, total: ULong) {}
}
