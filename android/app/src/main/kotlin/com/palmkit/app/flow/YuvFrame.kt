/*
 * A camera frame as an ImageReader in YUV_420_888 delivers it — three planes, each a
 * ByteBuffer with its row and pixel strides — and its packing for the core's frame call.
 *
 * Copies of the pixels per call (from the Image to the core): (1) [YuvFrame.packed] copies the
 * three planes, strides kept, into one ByteArray (UniFFI 0.32 takes a frame as one byte
 * buffer); (2) the generated binding writes it into a buffer the core allocated; (3) the core
 * lifts that into the Vec it analyzes, wiped after the call. The flow wipes (1) after the call.
 */
package com.palmkit.app.flow

import com.palmkit.core.FrameInfo
import com.palmkit.core.PixelFormat
import java.nio.ByteBuffer

/** One plane: its bytes (from the buffer's position to its limit) and strides. */
class Plane(val buffer: ByteBuffer, val rowStride: Int, val pixelStride: Int)

/** Why a camera frame cannot be described to the core. */
class CameraFrameException(message: String) : Exception(message)

/** A YUV_420_888 frame borrowed from the camera for one analysis call. */
class YuvFrame(
    val width: Int,
    val height: Int,
    val y: Plane,
    val u: Plane,
    val v: Plane,
    /** Clockwise rotation that makes the picture upright (sensor orientation vs display). */
    val rotationDegrees: Int,
    /** Front camera: mirrored. */
    val mirrored: Boolean,
    val timestampMs: Long,
) {
    /**
     * The three planes in one array (one copy, strides kept; the buffers' positions are not
     * moved) and their description: the core's YUV_420_888 layout at the planes' offsets.
     */
    fun packed(): Pair<ByteArray, FrameInfo> {
        if (width <= 0 || height <= 0 || width % 2 != 0 || height % 2 != 0) {
            throw CameraFrameException("a 4:2:0 frame needs even, non-zero sides, not ${width}x$height")
        }
        if (rotationDegrees !in setOf(0, 90, 180, 270)) {
            throw CameraFrameException("rotation $rotationDegrees° is not a quarter turn")
        }
        if (u.rowStride != v.rowStride || u.pixelStride != v.pixelStride) {
            throw CameraFrameException("the U and V planes differ in strides")
        }
        need("Y", y, width, height, 1)
        need("U", u, width / 2, height / 2, u.pixelStride)
        need("V", v, width / 2, height / 2, v.pixelStride)
        val sizes = listOf(y, u, v).map { it.buffer.remaining() }
        val out = ByteArray(sizes.sum())
        var at = 0
        for ((plane, size) in listOf(y, u, v).zip(sizes)) {
            plane.buffer.duplicate().get(out, at, size)
            at += size
        }
        val info = FrameInfo(
            format = PixelFormat.YUV420888,
            width = width.toUInt(),
            height = height.toUInt(),
            rowStride = y.rowStride.toUInt(),
            uvRowStride = u.rowStride.toUInt(),
            uvPixelStride = u.pixelStride.toUInt(),
            uOffset = sizes[0].toULong(),
            vOffset = (sizes[0] + sizes[1]).toULong(),
            rotationDegrees = rotationDegrees.toUInt(),
            mirrored = mirrored,
            timestampMs = timestampMs.toULong(),
        )
        return out to info
    }

    /** The plane holds `rows` rows of `samples` samples (its last row may be short). */
    private fun need(name: String, plane: Plane, samples: Int, rows: Int, pixelStride: Int) {
        if (pixelStride < 1 || plane.rowStride < (samples - 1) * pixelStride + 1) {
            throw CameraFrameException("the $name plane's strides (${plane.rowStride}, $pixelStride) do not fit $samples samples a row")
        }
        val needed = (rows - 1).toLong() * plane.rowStride + (samples - 1).toLong() * pixelStride + 1
        if (plane.buffer.remaining() < needed) {
            throw CameraFrameException("the $name plane is too small: $needed bytes needed, ${plane.buffer.remaining()} given")
        }
    }
}
