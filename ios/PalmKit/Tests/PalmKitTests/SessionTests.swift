import Foundation
import XCTest

@testable import PalmKit

/// The whole enrollment through the generated Swift bindings' EnrollmentSession against a
/// real `palmkit serve`: login, consent, the left hand from live BGRA camera frames (a palm
/// photo, report-only liveness), the right hand from the photo file, a card, an upload
/// cancelled midway that then goes up, an app restart that finds it pending, its deletion.
final class SessionTests: XCTestCase {
    /// Records what the session tells; cancels the upload at its first progress once.
    final class Recorder: SessionListener, @unchecked Sendable {
        private let lock = NSLock()
        private var states: [SessionSnapshot] = []
        private var progress: [(UInt64, UInt64)] = []
        private var cancelOnce: EnrollmentSession?
        var lastProgress: (UInt64, UInt64)? { lock.withLock { progress.last } }
        var sawUploading: Bool {
            lock.withLock { states.contains { if case .uploading = $0.state { true } else { false } } }
        }
        func cancel(_ session: EnrollmentSession) { lock.withLock { cancelOnce = session } }
        func onStateChanged(snapshot: SessionSnapshot) { lock.withLock { states.append(snapshot) } }
        func onUploadProgress(confirmed: UInt64, total: UInt64) {
            let session: EnrollmentSession? = lock.withLock {
                progress.append((confirmed, total))
                defer { cancelOnce = nil }
                return cancelOnce
            }
            if let session { XCTAssertTrue(session.cancelUpload()) }
        }
    }

    private func frameInfo(_ p: [String: String], at: UInt64) -> FrameInfo {
        let n = { (key: String) in UInt32(p["bgra.\(key)"] ?? "0") ?? 0 }
        return FrameInfo(
            format: .bgra8888, width: n("width"), height: n("height"), rowStride: n("row_stride"),
            uvRowStride: 0, uvPixelStride: 0, uOffset: 0, vOffset: 0,
            rotationDegrees: n("rotation"), mirrored: false, timestampMs: at)
    }

    func testAWholeEnrollmentThroughTheSession() async throws {
        let (dir, props) = try TestEnv.frames()
        let store = FakeSecureStore()
        let session = try EnrollmentSession(config: try TestEnv.config(), store: store)
        let recorder = Recorder()
        session.setListener(listener: recorder)
        let restored = try await session.restore()
        XCTAssertEqual(restored.state, .signedOut)
        do {
            _ = try session.startHand(hand: nil)
            XCTFail("capture before login")
        } catch PalmKitError.OutOfOrder(let reason) {
            XCTAssertTrue(reason.contains("signed out"), reason)
        }
        let redirect = try TestEnv.browser(try await session.startLogin())
        let signedIn = try await session.finishLogin(redirectUrl: redirect)
        XCTAssertEqual(signedIn.state, .signedIn)
        _ = try await session.giveConsent(textVersion: "biometric-2026-12")

        try session.loadModels(modelsDir: try TestEnv.env("PALMKIT_TEST_MODELS"))
        session.setLivenessPolicy(policy: .reportOnly)
        _ = try session.startHand(hand: .left)
        let bgra = try Data(contentsOf: dir.appendingPathComponent("frame.bgra"))
        var captured = false
        for i in 0..<30 where !captured {
            let result = try session.analyzeFrame(data: bgra, info: frameInfo(props, at: 1000 + 100 * UInt64(i)))
            // The instruction is an enum the screen switches over exhaustively.
            switch result.guidance {
            case .holdSteady, .captured: break
            default: XCTFail("\(result.guidance) on a palm that passes every check")
            }
            captured = result.captured
        }
        XCTAssertTrue(captured, "no auto-capture in 30 frames")
        XCTAssertEqual(session.snapshot().state, .captured(hands: [.left]))

        _ = try session.startHand(hand: .right)
        let photo = try Data(contentsOf: URL(fileURLWithPath: try TestEnv.env("PALMKIT_TEST_IMAGE")))
        let both = try session.addCaptureFile(hand: .right, image: photo)
        XCTAssertEqual(both.state, .captured(hands: [.left, .right]))

        let card = CardInput(number: "4242424242424242", expMonth: 12, expYear: 2040, cvc: "123", cardholderName: "Test Shopper")
        guard case .added(let method) = try await session.addCard(card: card) else {
            return XCTFail("the test card asked for confirmation")
        }
        _ = try await session.choosePayment(paymentMethodId: method.id)
        XCTAssertEqual(session.snapshot().state, .paymentChosen)

        recorder.cancel(session)
        do {
            _ = try await session.upload()
            XCTFail("the upload was not cancelled")
        } catch PalmKitError.Cancelled {}
        XCTAssertEqual(session.snapshot().state, .paymentChosen)
        XCTAssertEqual(session.snapshot().left, .captured)
        let pending = try await session.upload()
        XCTAssertEqual(pending.state, .pendingStoreMatch)
        XCTAssertEqual(pending.right, .pendingMatch)
        XCTAssertEqual(recorder.lastProgress?.0, recorder.lastProgress?.1)
        XCTAssertTrue(recorder.sawUploading)

        let restarted = try EnrollmentSession(config: try TestEnv.config(), store: store)
        let resumed = try await restarted.restore()
        XCTAssertEqual(resumed.state, .pendingStoreMatch)
        XCTAssertEqual(resumed.enrollmentId, pending.enrollmentId)
        let deleted = try await restarted.delete()
        XCTAssertEqual(deleted.state, .deleted)
        XCTAssertEqual(try restarted.enrollAgain().state, .consentGiven)
    }
}
