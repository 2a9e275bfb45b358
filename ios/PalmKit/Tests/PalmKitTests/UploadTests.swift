import Foundation
import XCTest

@testable import PalmKit

/// A real palm photograph sealed and uploaded through the generated Swift bindings'
/// session to a real `palmkit serve` (started by `cargo xtask test-swift`), attested as
/// each platform does it, then the enrollment submitted.
final class UploadTests: XCTestCase {
    /// Records progress; called from the core's threads.
    final class Progress: SessionListener, @unchecked Sendable {
        private let lock = NSLock()
        private var seen: [(UInt64, UInt64)] = []
        var last: (UInt64, UInt64)? { lock.withLock { seen.last } }
        func onStateChanged(snapshot: SessionSnapshot) {}
        func onUploadProgress(confirmed: UInt64, total: UInt64) {
            lock.withLock { seen.append((confirmed, total)) }
        }
    }

    func testAnAttestedUploadIsAcceptedAndAnUnattestableDeviceNamed() async throws {
        let session = try await TestEnv.consented()
        let attestor = try FakeDevAttestor()
        session.setAttestor(attestor: attestor)
        try await TestEnv.readyToUpload(session, .left)
        let uploaded = try await session.upload()
        XCTAssertEqual(uploaded.state, .pendingStoreMatch)
        XCTAssertEqual(attestor.challenges.count, 1, "one statement per upload")
        XCTAssertEqual(attestor.challenges.first?.count, 32)

        let unattestable = try await TestEnv.consented()
        unattestable.setAttestor(attestor: FakeUnattestableDevice())
        try await TestEnv.readyToUpload(unattestable, .left)
        do {
            _ = try await unattestable.upload()
            XCTFail("an upload went without the attestation asked for")
        } catch PalmKitError.Rejected(let reason) {
            XCTAssertTrue(reason.contains("no Secure Enclave"), reason)
        }
        guard case .failed(let failure) = unattestable.snapshot().state else {
            return XCTFail("not failed: \(unattestable.snapshot().state)")
        }
        XCTAssertEqual(failure.reason, .rejected)
        XCTAssertEqual(unattestable.snapshot().left, .captured, "the capture is still held")
    }

    func testAppAttestRegistersAKeyThenAssertsWithIt() async throws {
        let device = FakeAppAttestDevice()
        let keychain = FakeSecureStore()
        for _ in 0..<2 {
            let session = try await TestEnv.consented()
            session.setAppAttest(device: device, store: keychain)
            try await TestEnv.readyToUpload(session, .left)
            let uploaded = try await session.upload()
            XCTAssertEqual(uploaded.state, .pendingStoreMatch)
        }
        // The first upload attested the key; the second asserted with it.
        XCTAssertEqual(device.keysMade, 1)
    }

    func testAPalmPhotoIsUploadedTheEnrollmentSubmittedThenDeleted() async throws {
        let session = try await TestEnv.consented()
        let progress = Progress()
        session.setListener(listener: progress)
        try await TestEnv.readyToUpload(session, .right)
        let submitted = try await session.upload()
        XCTAssertEqual(submitted.state, .pendingStoreMatch)
        XCTAssertEqual(submitted.right, .pendingMatch)
        let last = try XCTUnwrap(progress.last)
        XCTAssertEqual(last.0, last.1, "the last progress is all of it")
        XCTAssertGreaterThan(last.1, UInt64(1000))
        let refreshed = try await session.refresh()
        XCTAssertEqual(refreshed, submitted)
        let deleted = try await session.delete()
        XCTAssertEqual(deleted.state, .deleted)
        XCTAssertEqual(try session.enrollAgain().state, .consentGiven)
    }

    func testConsentIsRecordedAndNotAnImageIsTyped() async throws {
        let session = try await TestEnv.signedIn()
        let consent = try await session.giveConsent(textVersion: "biometric-2026-11")
        XCTAssertEqual(consent.textVersion, "biometric-2026-11")
        XCTAssertEqual(session.snapshot().state, .consentGiven)
        _ = try session.startHand(hand: .right)
        do {
            _ = try session.addCaptureFile(hand: .right, image: Data("not a photo".utf8))
            XCTFail("bytes that are no image were held as a capture")
        } catch PalmKitError.InvalidCapture(let reason) {
            XCTAssertTrue(reason.contains("JPEG or PNG"), reason)
        }
        XCTAssertEqual(session.snapshot().right, .notCaptured)
    }
}
