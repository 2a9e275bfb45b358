import Foundation
import PalmKit
import XCTest

@testable import PalmKitApp

/// The camera path's pure parts: NV12 packing, back-pressure, announcement rate limits.
final class FramePathTests: XCTestCase {
    func testNV12PlanesArePackedOnceWithTheirStrides() throws {
        // 4x2 frame; rows padded to 8 bytes, as CVPixelBuffer pads them.
        let luma: [UInt8] = [1, 2, 3, 4, 0, 0, 0, 0, 5, 6, 7, 8, 0, 0, 0, 0]
        let chroma: [UInt8] = [10, 20, 11, 21, 0, 0, 0, 0]
        let (data, info) = try luma.withUnsafeBytes { y in
            try chroma.withUnsafeBytes { c in
                try BiPlanarFrame(
                    width: 4, height: 2,
                    luma: CameraPlane(base: y.baseAddress!, bytesPerRow: 8, rows: 2),
                    chroma: CameraPlane(base: c.baseAddress!, bytesPerRow: 8, rows: 1),
                    rotationDegrees: 90, mirrored: true, timestampMs: 7
                ).packed()
            }
        }
        XCTAssertEqual([UInt8](data), luma + chroma)
        XCTAssertEqual(info.format, .yuv420888)
        XCTAssertEqual(info.rowStride, 8)
        XCTAssertEqual(info.uvRowStride, 8)
        XCTAssertEqual(info.uvPixelStride, 2)
        XCTAssertEqual(info.uOffset, 16)  // Cb first in NV12
        XCTAssertEqual(info.vOffset, 17)
        XCTAssertEqual(info.rotationDegrees, 90)
        XCTAssertTrue(info.mirrored)
        XCTAssertEqual(info.timestampMs, 7)
    }

    func testAFrameWhosePlanesAreTooSmallIsRefusedByName() throws {
        let bytes = [UInt8](repeating: 0, count: 64)
        try bytes.withUnsafeBytes { b in
            let plane = { (row: Int, rows: Int) in CameraPlane(base: b.baseAddress!, bytesPerRow: row, rows: rows) }
            let frame = { (w: Int, h: Int, luma: CameraPlane, chroma: CameraPlane, rot: UInt32) in
                BiPlanarFrame(width: w, height: h, luma: luma, chroma: chroma, rotationDegrees: rot, mirrored: false, timestampMs: 0)
            }
            XCTAssertThrowsError(try frame(8, 4, plane(4, 4), plane(8, 2), 0).packed()) {
                XCTAssertEqual($0 as? CameraFrameError, .planeTooSmall(plane: "luma", need: "8 bytes x 4 rows", have: "4 x 4"))
            }
            XCTAssertThrowsError(try frame(8, 4, plane(8, 4), plane(8, 1), 0).packed()) {
                XCTAssertEqual($0 as? CameraFrameError, .planeTooSmall(plane: "chroma", need: "8 bytes x 2 rows", have: "8 x 1"))
            }
            XCTAssertThrowsError(try frame(7, 4, plane(8, 4), plane(8, 2), 0).packed())
            XCTAssertThrowsError(try frame(8, 4, plane(8, 4), plane(8, 2), 45).packed())
        }
    }

    func testTheGateDropsFramesWhileOneIsAnalyzedAndWhenClosed() {
        let gate = FrameGate()
        XCTAssertFalse(gate.tryEnter(), "a closed gate let a frame in")
        gate.openGate()
        XCTAssertTrue(gate.tryEnter())
        XCTAssertFalse(gate.tryEnter(), "a second frame got in while one is analyzed")
        gate.leave()
        XCTAssertTrue(gate.tryEnter())
        gate.leave()
        gate.close()
        XCTAssertFalse(gate.tryEnter())
        XCTAssertEqual(gate.counts.analyzed, 2)
        XCTAssertEqual(gate.counts.dropped, 3)
    }

    func testTheGateAdmitsOneOfManyConcurrentFrames() {
        let gate = FrameGate()
        gate.openGate()
        final class Inside: @unchecked Sendable {
            let lock = NSLock()
            var now = 0, most = 0
            func enter() { lock.withLock { now += 1; most = max(most, now) } }
            func leave() { lock.withLock { now -= 1 } }
        }
        let inside = Inside()
        DispatchQueue.concurrentPerform(iterations: 200) { _ in
            guard gate.tryEnter() else { return }
            inside.enter()
            usleep(200)
            inside.leave()
            gate.leave()
        }
        XCTAssertEqual(inside.most, 1)
        XCTAssertEqual(gate.counts.analyzed + gate.counts.dropped, 200)
        XCTAssertGreaterThan(gate.counts.dropped, 0)
    }

    func testAnnouncementsFollowChangesAtMostEveryTwoSecondsButCaptureAlways() {
        var throttle = AnnouncementThrottle(minimumGapMs: 2_000)
        XCTAssertTrue(throttle.shouldAnnounce(.moveCloser, atMs: 0))
        XCTAssertFalse(throttle.shouldAnnounce(.moveCloser, atMs: 5_000), "the same guidance again")
        XCTAssertFalse(throttle.shouldAnnounce(.holdSteady, atMs: 500), "a change within the gap")
        XCTAssertTrue(throttle.shouldAnnounce(.holdSteady, atMs: 2_100))
        XCTAssertTrue(throttle.shouldAnnounce(.captured, atMs: 2_200), "the capture waits for no gap")
        throttle.reset()
        XCTAssertTrue(throttle.shouldAnnounce(.captured, atMs: 2_300))
    }
}
