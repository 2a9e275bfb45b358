package com.palmkit.app.flow

import com.palmkit.core.PixelFormat
import com.palmkit.core.model.GuidanceCode
import java.nio.ByteBuffer
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/** The camera path's pure parts: YUV_420_888 packing, back-pressure, announcement limits. */
class FramePathTest {
    @Test
    fun threePlanesArePackedOnceWithTheirStridesAndOffsets() {
        // 4x2 frame; Y rows padded to 6 bytes (last row short), chroma interleaved.
        val y = ByteBuffer.wrap(byteArrayOf(1, 2, 3, 4, 0, 0, 5, 6, 7, 8))
        val u = ByteBuffer.wrap(byteArrayOf(10, 20, 11))
        val v = ByteBuffer.wrap(byteArrayOf(20, 11, 21))
        val frame = YuvFrame(4, 2, Plane(y, 6, 1), Plane(u, 4, 2), Plane(v, 4, 2), 270, true, 9)
        val (bytes, info) = frame.packed()
        assertArrayEquals(byteArrayOf(1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 10, 20, 11, 20, 11, 21), bytes)
        assertEquals(PixelFormat.YUV420888, info.format)
        assertEquals(6u, info.rowStride)
        assertEquals(4u, info.uvRowStride)
        assertEquals(2u, info.uvPixelStride)
        assertEquals(10uL, info.uOffset)
        assertEquals(13uL, info.vOffset)
        assertEquals(270u, info.rotationDegrees)
        assertTrue(info.mirrored)
        assertEquals(0, y.position())
    }

    @Test
    fun aFrameWhosePlanesDoNotFitIsRefusedByName() {
        fun refused(frame: YuvFrame, what: String) {
            try {
                frame.packed()
                fail("accepted: $what")
            } catch (e: CameraFrameException) {
                assertTrue("${e.message} does not say $what", e.message!!.contains(what))
            }
        }
        val plane = { size: Int, row: Int, px: Int -> Plane(ByteBuffer.allocate(size), row, px) }
        refused(YuvFrame(8, 4, plane(31, 8, 1), plane(15, 8, 2), plane(15, 8, 2), 0, false, 0), "Y plane is too small")
        refused(YuvFrame(8, 4, plane(32, 8, 1), plane(8, 8, 2), plane(15, 8, 2), 0, false, 0), "U plane is too small")
        refused(YuvFrame(8, 4, plane(32, 4, 1), plane(15, 8, 2), plane(15, 8, 2), 0, false, 0), "strides")
        refused(YuvFrame(7, 4, plane(32, 8, 1), plane(15, 8, 2), plane(15, 8, 2), 0, false, 0), "even")
        refused(YuvFrame(8, 4, plane(32, 8, 1), plane(15, 8, 2), plane(15, 8, 2), 45, false, 0), "quarter turn")
    }

    @Test
    fun theGateDropsFramesWhileOneIsAnalyzedAndWhenClosed() {
        val gate = FrameGate()
        assertFalse("a closed gate let a frame in", gate.tryEnter())
        gate.open()
        assertTrue(gate.tryEnter())
        assertFalse("a second frame got in while one is analyzed", gate.tryEnter())
        gate.leave()
        assertTrue(gate.tryEnter())
        gate.leave()
        gate.close()
        assertFalse(gate.tryEnter())
        assertEquals(2, gate.analyzed)
        assertEquals(3, gate.dropped)
    }

    @Test
    fun theGateAdmitsOneOfManyConcurrentFrames() {
        val gate = FrameGate().apply { open() }
        val inside = AtomicInteger()
        val most = AtomicInteger()
        val pool = Executors.newFixedThreadPool(8)
        repeat(200) {
            pool.execute {
                if (gate.tryEnter()) {
                    most.accumulateAndGet(inside.incrementAndGet(), ::maxOf)
                    Thread.sleep(1)
                    inside.decrementAndGet()
                    gate.leave()
                }
            }
        }
        pool.shutdown()
        assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS))
        assertEquals(1, most.get())
        assertEquals(200, gate.analyzed + gate.dropped)
        assertTrue(gate.dropped > 0)
    }

    @Test
    fun announcementsFollowChangesAtMostEveryTwoSecondsButCaptureAlways() {
        val throttle = AnnouncementThrottle(2_000)
        assertTrue(throttle.shouldAnnounce(GuidanceCode.MOVE_CLOSER, 0))
        assertFalse("the same guidance again", throttle.shouldAnnounce(GuidanceCode.MOVE_CLOSER, 5_000))
        assertFalse("a change within the gap", throttle.shouldAnnounce(GuidanceCode.HOLD_STEADY, 500))
        assertTrue(throttle.shouldAnnounce(GuidanceCode.HOLD_STEADY, 2_100))
        assertTrue("the capture waits for no gap", throttle.shouldAnnounce(GuidanceCode.CAPTURED, 2_200))
        throttle.reset()
        assertTrue(throttle.shouldAnnounce(GuidanceCode.CAPTURED, 2_300))
    }
}
