// A camera frame as AVFoundation delivers it in `kCVPixelFormatType_420YpCbCr8BiPlanarFullRange`
// (NV12: a full-resolution luma plane, then a half-resolution plane of interleaved Cb/Cr),
// and its packing for the core's frame call.
//
// Copies of the pixels per call (from the locked CVPixelBuffer to the core):
// 1. `packed()` copies the two planes, strides kept, into one `Data` (uniffi 0.32 takes a
//    frame as one byte buffer and cannot borrow foreign memory);
// 2. the generated binding writes that `Data` into a byte array for the call;
// 3. the core's `rustbuffer_from_bytes` copies the array into Rust memory;
// 4. the core lifts it into the `Vec<u8>` the analysis reads, and wipes it after the call.
// The flow wipes copy 1 after the call; copy 2 is freed, unwiped, by the generated code.

import Foundation
import PalmKit

/// One plane of a locked pixel buffer: its base address, bytes per row and rows.
public struct CameraPlane {
    public var base: UnsafeRawPointer
    public var bytesPerRow: Int
    public var rows: Int

    public init(base: UnsafeRawPointer, bytesPerRow: Int, rows: Int) {
        self.base = base
        self.bytesPerRow = bytesPerRow
        self.rows = rows
    }
}

/// Why a camera frame cannot be described to the core.
public enum CameraFrameError: Error, Equatable, CustomStringConvertible {
    /// A plane is smaller than the frame's size needs.
    case planeTooSmall(plane: String, need: String, have: String)
    /// Odd or empty sizes, or a rotation other than 0/90/180/270.
    case badGeometry(String)

    public var description: String {
        switch self {
        case .planeTooSmall(let plane, let need, let have):
            "the \(plane) plane is too small: \(need) needed, \(have) given"
        case .badGeometry(let what): what
        }
    }
}

/// An NV12 frame borrowed from the camera for the length of one analysis call.
public struct BiPlanarFrame {
    public var width: Int
    public var height: Int
    /// Y, one byte a pixel.
    public var luma: CameraPlane
    /// Cb, Cr interleaved, one pair per 2x2 pixels.
    public var chroma: CameraPlane
    /// Clockwise rotation that makes the picture upright (back camera, portrait: 90).
    public var rotationDegrees: UInt32
    /// The front camera's picture is mirrored.
    public var mirrored: Bool
    /// The frame's presentation time, milliseconds.
    public var timestampMs: UInt64

    public init(
        width: Int, height: Int, luma: CameraPlane, chroma: CameraPlane,
        rotationDegrees: UInt32, mirrored: Bool, timestampMs: UInt64
    ) {
        self.width = width
        self.height = height
        self.luma = luma
        self.chroma = chroma
        self.rotationDegrees = rotationDegrees
        self.mirrored = mirrored
        self.timestampMs = timestampMs
    }

    /// The two planes in one buffer (one copy, strides kept) and their description: the
    /// core's YUV_420_888 layout with Cb at the chroma plane's start and Cr one byte later.
    public func packed() throws -> (Data, FrameInfo) {
        guard width > 0, height > 0, width % 2 == 0, height % 2 == 0 else {
            throw CameraFrameError.badGeometry("a 4:2:0 frame needs even, non-zero sides, not \(width)x\(height)")
        }
        guard [0, 90, 180, 270].contains(rotationDegrees) else {
            throw CameraFrameError.badGeometry("rotation \(rotationDegrees)° is not a quarter turn")
        }
        guard luma.bytesPerRow >= width, luma.rows >= height else {
            throw CameraFrameError.planeTooSmall(
                plane: "luma", need: "\(width) bytes x \(height) rows",
                have: "\(luma.bytesPerRow) x \(luma.rows)")
        }
        guard chroma.bytesPerRow >= width, chroma.rows >= height / 2 else {
            throw CameraFrameError.planeTooSmall(
                plane: "chroma", need: "\(width) bytes x \(height / 2) rows",
                have: "\(chroma.bytesPerRow) x \(chroma.rows)")
        }
        let lumaBytes = luma.bytesPerRow * height
        let chromaBytes = chroma.bytesPerRow * (height / 2)
        var data = Data(count: lumaBytes + chromaBytes)
        data.withUnsafeMutableBytes { out in
            out.baseAddress!.copyMemory(from: luma.base, byteCount: lumaBytes)
            (out.baseAddress! + lumaBytes).copyMemory(from: chroma.base, byteCount: chromaBytes)
        }
        let info = FrameInfo(
            format: .yuv420888, width: UInt32(width), height: UInt32(height),
            rowStride: UInt32(luma.bytesPerRow), uvRowStride: UInt32(chroma.bytesPerRow),
            uvPixelStride: 2, uOffset: UInt64(lumaBytes), vOffset: UInt64(lumaBytes + 1),
            rotationDegrees: rotationDegrees, mirrored: mirrored, timestampMs: timestampMs)
        return (data, info)
    }
}
