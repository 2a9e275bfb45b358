import Foundation
import XCTest

@testable import PalmKit

/// A real palm photograph sealed and uploaded through the generated Swift bindings to a
/// real `palmkit serve` (started by `cargo xtask test-swift`), then the enrollment submitted.
final class UploadTests: XCTestCase {
    /// Records progress; called from the core's threads.
    final class Progress: UploadProgressListener, @unchecked Sendable {
        private let lock = NSLock()
        private var seen: [(UInt64, UInt64)] = []
        var last: (UInt64, UInt64)? { lock.withLock { seen.last } }
        func onProgress(confirmed: UInt64, total: UInt64) {
            lock.withLock { seen.append((confirmed, total)) }
        }
    }

    func testAnAttestedUploadIsAcceptedAndAnUnattestableDeviceNamed() async throws {
        let kit = try await TestEnv.signedIn()
        let image = try Data(contentsOf: URL(fileURLWithPath: try TestEnv.env("PALMKIT_TEST_IMAGE")))
        let attestor = try FakeDevAttestor()
        kit.setAttestor(attestor: attestor)
        let draft = try await kit.createEnrollment(hands: [.left], idempotencyKey: nil)
        let receipt = try await kit.uploadCapture(
            enrollmentId: draft.id, hand: .left, image: image, origin: .camera,
            progress: Progress(), cancel: UploadCancel())
        XCTAssertGreaterThan(receipt.length, UInt64(1000))
        XCTAssertEqual(attestor.challenges.count, 1, "one statement per upload")
        XCTAssertEqual(attestor.challenges.first?.count, 32)
        kit.setAttestor(attestor: FakeUnattestableDevice())
        do {
            _ = try await kit.uploadCapture(
                enrollmentId: draft.id, hand: .left, image: image, origin: .camera,
                progress: Progress(), cancel: UploadCancel())
            XCTFail("an upload went without the attestation asked for")
        } catch PalmKitError.Rejected(let reason) {
            XCTAssertTrue(reason.contains("no Secure Enclave"), reason)
        }
    }

    func testAppAttestRegistersAKeyThenAssertsWithIt() async throws {
        let kit = try await TestEnv.signedIn()
        let image = try Data(contentsOf: URL(fileURLWithPath: try TestEnv.env("PALMKIT_TEST_IMAGE")))
        let device = FakeAppAttestDevice()
        kit.setAppAttest(device: device, store: FakeSecureStore())
        let draft = try await kit.createEnrollment(hands: [.left], idempotencyKey: nil)
        for _ in 0..<2 {
            let receipt = try await kit.uploadCapture(
                enrollmentId: draft.id, hand: .left, image: image, origin: .camera,
                progress: Progress(), cancel: UploadCancel())
            XCTAssertGreaterThan(receipt.length, UInt64(1000))
        }
        // The first upload attested the key; the second asserted with it.
        XCTAssertEqual(device.keysMade, 1)
    }

    func testAPalmPhotoIsUploadedAndTheEnrollmentSubmitted() async throws {
        let kit = try await TestEnv.signedIn()
        let image = try Data(contentsOf: URL(fileURLWithPath: try TestEnv.env("PALMKIT_TEST_IMAGE")))
        let draft = try await kit.createEnrollment(hands: [.left], idempotencyKey: try newIdempotencyKey())
        XCTAssertEqual(draft.status, .draft)
        let progress = Progress()
        let receipt = try await kit.uploadCapture(
            enrollmentId: draft.id, hand: .left, image: image, origin: .file,
            progress: progress, cancel: UploadCancel())
        XCTAssertGreaterThan(receipt.length, UInt64(image.count))
        XCTAssertEqual(progress.last?.0, receipt.length)
        let submitted = try await kit.submitEnrollment(
            enrollmentId: draft.id, uploadIds: [receipt.uploadId], idempotencyKey: try newIdempotencyKey())
        XCTAssertEqual(submitted.status, .pendingStoreMatch)
        let fetched = try await kit.enrollment(id: draft.id)
        XCTAssertEqual(fetched, submitted)
    }

    func testConsentIsRecordedAndADeletedEnrollmentIsGone() async throws {
        let kit = try await TestEnv.signedIn()
        let consent = try await kit.giveConsent(textVersion: "biometric-2026-11")
        XCTAssertEqual(consent.textVersion, "biometric-2026-11")
        let again = try await kit.giveConsent(textVersion: "biometric-2026-11")
        XCTAssertEqual(again, consent)

        let image = try Data(contentsOf: URL(fileURLWithPath: try TestEnv.env("PALMKIT_TEST_IMAGE")))
        let draft = try await kit.createEnrollment(hands: [.right], idempotencyKey: nil)
        let receipt = try await kit.uploadCapture(
            enrollmentId: draft.id, hand: .right, image: image, origin: .file,
            progress: Progress(), cancel: UploadCancel())
        _ = try await kit.submitEnrollment(
            enrollmentId: draft.id, uploadIds: [receipt.uploadId], idempotencyKey: try newIdempotencyKey())
        try await kit.deleteEnrollment(id: draft.id)
        do {
            _ = try await kit.enrollment(id: draft.id)
            XCTFail("a deleted enrollment was still found")
        } catch PalmKitError.Rejected(let reason) {
            XCTAssertTrue(reason.contains("no such enrollment"), reason)
        }
    }

    func testNotAnImageIsTyped() async throws {
        let kit = try await TestEnv.signedIn()
        let draft = try await kit.createEnrollment(hands: [.right], idempotencyKey: nil)
        do {
            _ = try await kit.uploadCapture(
                enrollmentId: draft.id, hand: .right, image: Data("not a photo".utf8), origin: .file,
                progress: Progress(), cancel: UploadCancel())
            XCTFail("bytes that are no image were uploaded")
        } catch PalmKitError.InvalidCapture(let reason) {
            XCTAssertTrue(reason.contains("JPEG or PNG"), reason)
        }
    }
}
