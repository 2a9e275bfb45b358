import Foundation
import XCTest

@testable import PalmKit

/// A real palm photo's bytes fed to a capturing session as camera frames in two formats —
/// NV21 from a landscape sensor (rotation 90) and upright BGRA — written by
/// `palmkit export-frames` (PALMKIT_TEST_FRAMES), with the bundled-style model folder
/// (PALMKIT_TEST_MODELS). The photo is an open left palm that passes every check; each
/// `startHand` starts the analysis afresh.
final class FrameAnalysisTests: XCTestCase {
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

    func testBothFormatsShowAnOpenLeftPalmReadyToCapture() async throws {
        let (dir, p) = try frames()
        let session = try await TestEnv.capturing(nil)
        for kind in ["nv21", "bgra"] {
            let bytes = try Data(contentsOf: dir.appendingPathComponent("frame.\(kind)"))
            _ = try session.startHand(hand: nil)
            let result = try session.analyzeFrame(data: bytes, info: info(p, kind, at: 0))
            let hand = try XCTUnwrap(result.hand, kind)
            XCTAssertEqual(hand.handedness, .left, kind)
            XCTAssertTrue(hand.palmFacing, kind)
            XCTAssertEqual(result.guidance, .holdSteady, kind)
            XCTAssertEqual(result.guidance.code(), "hold_steady", kind)
            XCTAssertEqual(result.guidance.messageKey(), "guidance.hold_steady")
            XCTAssertTrue(result.captureReady, kind)
            XCTAssertEqual(hand.landmarks.count, 63, "x, y, z of 21 landmarks")
            XCTAssertEqual(hand.bounds.count, 4)
        }
    }

    func testASteadyPalmIsAutoCapturedAndUploaded() async throws {
        let (dir, p) = try frames()
        let bgra = try Data(contentsOf: dir.appendingPathComponent("frame.bgra"))
        let session = try await TestEnv.capturing(.left)
        // The same photo as every frame is no live hand: only report-only liveness captures
        // it (testAPhotoFedAsFramesIsRefused shows the enforced one refusing).
        session.setLivenessPolicy(policy: .reportOnly)
        _ = try session.startHand(hand: .left)
        var captured: Int?
        for i in 0..<8 {
            let result = try session.analyzeFrame(data: bgra, info: info(p, "bgra", at: 1000 + 100 * UInt64(i)))
            if result.captured {
                captured = i
                XCTAssertEqual(result.guidance, .captured)
                XCTAssertEqual(result.spoof.verdict, .fail, "reported all the same")
                break
            }
            XCTAssertEqual(result.guidance, .holdSteady)
        }
        XCTAssertEqual(captured, 4, "five good frames over 400 ms capture on the fifth")
        // The image stays in the core: the app learns only that the hand is held.
        XCTAssertEqual(session.snapshot().state, .captured(hands: [.left]))
        _ = try await session.choosePayment(paymentMethodId: try await TestEnv.addTestCard(session).id)
        let submitted = try await session.upload()
        XCTAssertEqual(submitted.state, .pendingStoreMatch)
        XCTAssertEqual(submitted.left, .pendingMatch)
    }

    func testAPhotoFedAsFramesIsRefused() async throws {
        let (dir, p) = try frames()
        let bgra = try Data(contentsOf: dir.appendingPathComponent("frame.bgra"))
        let session = try await TestEnv.capturing(.left)
        var last: FrameAnalysis?
        for i in 0..<8 {
            let result = try session.analyzeFrame(data: bgra, info: info(p, "bgra", at: 1000 + 100 * UInt64(i)))
            XCTAssertFalse(result.captured, "a photo was captured")
            last = result
        }
        let result = try XCTUnwrap(last)
        XCTAssertEqual(result.guidance, .notLive)
        XCTAssertEqual(result.spoof.verdict, .fail)
        let integrity = try XCTUnwrap(result.spoof.layers.first { $0.layer == .captureIntegrity })
        XCTAssertEqual(integrity.layer.code(), "capture_integrity")
        XCTAssertEqual(integrity.outcome, .fail)
        XCTAssertTrue(integrity.reason.contains("same picture"), integrity.reason)
    }

    func testTheWrongHandAndABadFrameAreNamed() async throws {
        let (dir, p) = try frames()
        let bgra = try Data(contentsOf: dir.appendingPathComponent("frame.bgra"))
        let session = try await TestEnv.capturing(.right)
        XCTAssertEqual(try session.analyzeFrame(data: bgra, info: info(p, "bgra", at: 0)).guidance, .useRightHand)
        _ = try session.startHand(hand: .right)
        let mirrored = try session.analyzeFrame(data: bgra, info: info(p, "bgra", at: 0, mirrored: true))
        XCTAssertEqual(mirrored.hand?.handedness, .left, "the mirror is undone")
        do {
            _ = try session.analyzeFrame(data: bgra.prefix(bgra.count / 2), info: info(p, "bgra", at: 0))
            XCTFail("half a frame was analyzed")
        } catch PalmKitError.InvalidFrame(let reason) {
            XCTAssertTrue(reason.contains("buffer"), reason)
        }
        do {
            try TestEnv.makeSession().loadModels(modelsDir: "/nonexistent")
            XCTFail("models were loaded from a folder without them")
        } catch PalmKitError.ModelUnavailable(let reason) {
            XCTAssertFalse(reason.isEmpty)
        }
    }
}
