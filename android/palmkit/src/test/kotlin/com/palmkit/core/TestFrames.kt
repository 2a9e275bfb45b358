package com.palmkit.core

import com.palmkit.core.model.*
import java.io.File
import java.util.Properties

/**
 * The camera frames `palmkit export-frames` wrote for the tests (PALMKIT_TEST_FRAMES): a real
 * palm photo (an open left palm that passes every check) as NV21 from a landscape sensor
 * (rotation 90) and as upright BGRA, with their descriptions in `frames.properties`.
 */
object TestFrames {
    val dir = File(TestEnv.env("PALMKIT_TEST_FRAMES"))
    private val props = Properties().apply { File(dir, "frames.properties").reader().use { load(it) } }
    fun prop(key: String): UInt = props.getProperty(key).toUInt()

    fun nv21(at: ULong) = FrameInfo(
        format = PixelFormat.NV21,
        width = prop("nv21.width"), height = prop("nv21.height"),
        rowStride = prop("nv21.row_stride"), uvRowStride = prop("nv21.uv_row_stride"),
        uvPixelStride = 2u, uOffset = 0uL, vOffset = 0uL,
        rotationDegrees = prop("nv21.rotation"), mirrored = false, timestampMs = at,
    )

    fun bgra(at: ULong, mirrored: Boolean = false) = FrameInfo(
        format = PixelFormat.BGRA8888,
        width = prop("bgra.width"), height = prop("bgra.height"),
        rowStride = prop("bgra.row_stride"), uvRowStride = 0u, uvPixelStride = 0u,
        uOffset = 0uL, vOffset = 0uL,
        rotationDegrees = prop("bgra.rotation"), mirrored = mirrored, timestampMs = at,
    )
}
