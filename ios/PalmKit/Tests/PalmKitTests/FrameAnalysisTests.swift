import Foundation
import XCTest

@testable import PalmKit

/// A real palm photo's bytes fed to the analyzer as camera frames in two formats — NV21 from
/// a landscape sensor (rotation 90) and upright BGRA — written by `palmkit export-frames`
/// (PALMKIT_TEST_FRAMES), with the bundled-style model folder (PALMKIT_TEST_MODELS). The
/// photo is an open left palm that passes every check.
final class FrameAnalysisTests: XCTestCase {
    final class NoProgress: UploadProgressListener, @unchecked Sendable {
        func onProgress(confirmed: UInt64, total: UInt64) {}
    }

    private func frames() throws -> (dir: URL, props: [String: String]) {
        try TestEnv.frames()
    }

    private func info(_ p: [String: String], _ kind: String, at: UInt64, mirrored: Bool = false) -> FrameInfo {
        let n = { (key: String) in UInt32(p["\(kind).\(key)"] ?? "0") ?? 0 }
        return FrameInfo(
            format: kind == "nv21" ? .nv21 : .bgra8888,
            width: n("width"), height: n("height"), rowStride: n("row_stride"),
            uvRowStride: kind == "nv21" ? n("uv_row_stride") : 0, uvPixelStride: kind == "nv21" ? 2 : 0,
            uOffset: 0, vOffset: 0, rotationDegrees: n("rotation"), mirrored: mirrored, timestampMs: at)
    }

    private func analyzer() throws -> FrameAnalyzer {
        try FrameAnalyzer(modelsDir: try TestEnv.env("PALMKIT_TEST_MODELS"))
    }

    func testBothFormatsShowAnOpenLeftPalmReadyToCapture() throws {
        let (dir, p) = try frames()
        for kind in ["nv21", "bgra"] {
            let bytes = try Data(contentsOf: dir.appendingPathComponent("frame.\(kind)"))
            let result = try analyzer().analyzeFrame(data: bytes, info: info(p, kind, at: 0))
            XCTAssertTrue(result.handFound, kind)
            XCTAssertEqual(result.handedness, .left, kind)
            XCTAssertEqual(result.palmFacing, true, kind)
            XCTAssertEqual(result.guidance, "hold_steady", kind)
            XCTAssertEqual(result.messageKey, "guidance.hold_steady")
            XCTAssertTrue(result.captureReady, kind)
            XCTAssertEqual(result.landmarks.count, 42)
        }
    }

    func testASteadyPalmIsAutoCapturedAndUploaded() async throws {
        let (dir, p) = try frames()
        let bgra = try Data(contentsOf: dir.appendingPathComponent("frame.bgra"))
        let analyzer = try analyzer()
        // The same photo as every frame is no live hand: only a report-only analyzer
        // captures it (testAPhotoFedAsFramesIsRefused shows the enforced one refusing).
        analyzer.setLivenessPolicy(policy: .reportOnly)
        analyzer.startHand(hand: .left)
        var captured: Int?
        for i in 0..<8 {
            let result = try analyzer.analyzeFrame(data: bgra, info: info(p, "bgra", at: 1000 + 100 * UInt64(i)))
            if result.captured {
                captured = i
                XCTAssertEqual(result.guidance, "captured")
                XCTAssertEqual(result.spoof.verdict, .fail, "reported all the same")
                break
            }
            XCTAssertEqual(result.guidance, "hold_steady")
        }
        XCTAssertEqual(captured, 4, "five good frames over 400 ms capture on the fifth")
        let kit = try await TestEnv.signedIn()
        let draft = try await kit.createEnrollment(hands: [.left], idempotencyKey: nil)
        let receipt = try await kit.uploadAutoCapture(
            enrollmentId: draft.id, hand: .left, analyzer: analyzer, progress: NoProgress(), cancel: UploadCancel())
        let submitted = try await kit.submitEnrollment(
            enrollmentId: draft.id, uploadIds: [receipt.uploadId], idempotencyKey: try newIdempotencyKey())
        XCTAssertEqual(submitted.status, .pendingStoreMatch)
        do {
            _ = try await kit.uploadAutoCapture(
                enrollmentId: draft.id, hand: .left, analyzer: analyzer, progress: NoProgress(), cancel: UploadCancel())
            XCTFail("the same capture was uploaded twice")
        } catch PalmKitError.InvalidCapture(let reason) {
            XCTAssertTrue(reason.contains("no auto-capture"), reason)
        }
    }

    func testAPhotoFedAsFramesIsRefused() throws {
        let (dir, p) = try frames()
        let bgra = try Data(contentsOf: dir.appendingPathComponent("frame.bgra"))
        let analyzer = try analyzer()
        analyzer.startHand(hand: .left)
        var last: FrameResult?
        for i in 0..<10 {
            let result = try analyzer.analyzeFrame(data: bgra, info: info(p, "bgra", at: 1000 + 100 * UInt64(i)))
            XCTAssertFalse(result.captured, "a photo was captured")
            last = result
        }
        let result = try XCTUnwrap(last)
        XCTAssertEqual(result.guidance, "not_live")
        XCTAssertEqual(result.spoof.verdict, .fail)
        let integrity = try XCTUnwrap(result.spoof.layers.first { $0.kind == .captureIntegrity })
        XCTAssertEqual(integrity.layer, "capture_integrity")
        XCTAssertEqual(integrity.outcome, .fail)
        XCTAssertTrue(integrity.reason.contains("same picture"), integrity.reason)
    }

    func testTheWrongHandAndABadFrameAreNamed() throws {
        let (dir, p) = try frames()
        let bgra = try Data(contentsOf: dir.appendingPathComponent("frame.bgra"))
        let analyzer = try analyzer()
        analyzer.startHand(hand: .right)
        XCTAssertEqual(try analyzer.analyzeFrame(data: bgra, info: info(p, "bgra", at: 0)).guidance, "use_right_hand")
        analyzer.startHand(hand: .right)
        let mirrored = try analyzer.analyzeFrame(data: bgra, info: info(p, "bgra", at: 0, mirrored: true))
        XCTAssertEqual(mirrored.handedness, .left, "the mirror is undone")
        do {
            _ = try analyzer.analyzeFrame(data: bgra.prefix(bgra.count / 2), info: info(p, "bgra", at: 0))
            XCTFail("half a frame was analyzed")
        } catch PalmKitError.InvalidFrame(let reason) {
            XCTAssertTrue(reason.contains("buffer"), reason)
        }
        do {
            _ = try FrameAnalyzer(modelsDir: "/nonexistent")
            XCTFail("an analyzer without models was made")
        } catch PalmKitError.ModelUnavailable(let reason) {
            XCTAssertFalse(reason.isEmpty)
        }
    }
}
