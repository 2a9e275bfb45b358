import Foundation
import XCTest

@testable import PalmKit

/// A whole login through the generated Swift bindings against a real `palmkit serve`. The
/// test plays the system browser with `palmkit approve-login`, which submits the server's
/// real login form and prints the redirect the app would receive.
final class LoginTests: XCTestCase {
    private func env(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name] else {
            throw XCTSkip("\(name) is not set: run this through `cargo xtask test-swift`")
        }
        return value
    }

    private func makeKit(_ store: FakeSecureStore) throws -> PalmKit {
        let json = try String(contentsOfFile: try env("PALMKIT_TEST_CONFIG"), encoding: .utf8)
        return try PalmKit(config: try parseServiceConfig(json: json), store: store)
    }

    /// Plays the shopper at the login page for `url`; returns the redirect URL.
    private func browser(_ url: String, cancel: Bool = false) throws -> String {
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

    func testWholeLoginThenAccountThenLogout() async throws {
        let store = FakeSecureStore()
        let kit = try makeKit(store)
        let url = try await kit.startLogin()
        XCTAssertTrue(url.contains("code_challenge_method=S256"), url)
        try await kit.finishLogin(redirectUrl: try browser(url))
        XCTAssertEqual(store.count, 1)
        let account = try await kit.account()
        XCTAssertEqual(account.email, "shopper@palmkit.test")
        try await kit.logout()
        XCTAssertEqual(store.count, 0, "tokens left in secure storage after logout")
        do {
            _ = try await kit.account()
            XCTFail("account() worked after logout")
        } catch PalmKitError.SignInRequired(let reason) {
            XCTAssertFalse(reason.isEmpty)
        }
    }

    func testCancelledLoginIsTypedAndStoresNothing() async throws {
        let store = FakeSecureStore()
        let kit = try makeKit(store)
        let redirect = try browser(try await kit.startLogin(), cancel: true)
        do {
            try await kit.finishLogin(redirectUrl: redirect)
            XCTFail("a cancelled login finished")
        } catch PalmKitError.LoginCancelled {
            XCTAssertEqual(store.count, 0)
        }
    }
}
