import Foundation
import XCTest

@testable import PalmKit

/// What `cargo xtask test-swift` hands the tests: the running `palmkit serve`'s client
/// configuration (PALMKIT_TEST_CONFIG), another data directory's CA (PALMKIT_TEST_OTHER_CA),
/// a palm photo (PALMKIT_TEST_IMAGE), and the `palmkit` binary whose `approve-login` plays
/// the system browser (PALMKIT_CLI).
enum TestEnv {
    static func env(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name] else {
            throw XCTSkip("\(name) is not set: run this through `cargo xtask test-swift`")
        }
        return value
    }

    /// The camera frames `palmkit export-frames` wrote (PALMKIT_TEST_FRAMES): the folder and
    /// the descriptions in its `frames.properties`.
    static func frames() throws -> (dir: URL, props: [String: String]) {
        let dir = URL(fileURLWithPath: try env("PALMKIT_TEST_FRAMES"))
        let text = try String(contentsOf: dir.appendingPathComponent("frames.properties"), encoding: .utf8)
        var props: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { props[parts[0]] = parts[1] }
        }
        return (dir, props)
    }

    static func config() throws -> ServiceConfig {
        let json = try String(contentsOfFile: try env("PALMKIT_TEST_CONFIG"), encoding: .utf8)
        return try parseServiceConfig(json: json)
    }

    static func makeSession(_ store: FakeSecureStore = FakeSecureStore()) throws -> EnrollmentSession {
        try EnrollmentSession(config: try config(), store: store)
    }

    /// Plays the shopper at the login page for `url`; returns the redirect URL.
    static func browser(_ url: String, cancel: Bool = false) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try env("PALMKIT_CLI"))
        var args = ["approve-login", "--config", try env("PALMKIT_TEST_CONFIG")]
        if cancel { args.append("--cancel") }
        args.append(url)
        process.arguments = args
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "approve-login failed")
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A session with the test shopper signed in (a fresh device: nothing saved before).
    static func signedIn(_ store: FakeSecureStore = FakeSecureStore()) async throws -> EnrollmentSession {
        let session = try makeSession(store)
        let restored = try await session.restore()
        XCTAssertEqual(restored.state, .signedOut)
        let signedIn = try await session.finishLogin(redirectUrl: try browser(try await session.startLogin()))
        XCTAssertEqual(signedIn.state, .signedIn)
        return session
    }

    /// Signed in and consented: where the app's capture screens start.
    static func consented() async throws -> EnrollmentSession {
        let session = try await signedIn()
        _ = try await session.giveConsent(textVersion: "biometric-2026-12")
        return session
    }

    /// Consented, the hand models loaded, capturing `hand` from camera frames.
    static func capturing(_ hand: Hand?) async throws -> EnrollmentSession {
        let session = try await consented()
        try session.loadModels(modelsDir: try env("PALMKIT_TEST_MODELS"))
        _ = try session.startHand(hand: hand)
        return session
    }

    /// The test card, saved in the wallet by `session`.
    static func addTestCard(_ session: EnrollmentSession) async throws -> PaymentMethod {
        let card = CardInput(number: "4242 4242 4242 4242", expMonth: 12, expYear: 2040, cvc: "123", cardholderName: "Test Shopper")
        guard case .added(let method) = try await session.addCard(card: card) else {
            throw XCTSkip("the test card asked for confirmation")
        }
        return method
    }

    /// `hand` held from the palm photo file and a card chosen: `upload` may run.
    static func readyToUpload(_ session: EnrollmentSession, _ hand: Hand) async throws {
        _ = try session.startHand(hand: hand)
        let photo = try Data(contentsOf: URL(fileURLWithPath: try env("PALMKIT_TEST_IMAGE")))
        _ = try session.addCaptureFile(hand: hand, image: photo)
        _ = try await session.choosePayment(paymentMethodId: try await addTestCard(session).id)
        XCTAssertEqual(session.snapshot().state, .paymentChosen)
    }
}
