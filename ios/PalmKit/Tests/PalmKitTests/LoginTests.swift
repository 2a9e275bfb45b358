import Foundation
import XCTest

@testable import PalmKit

/// A whole login through the generated Swift bindings against a real `palmkit serve`. The
/// test plays the system browser with `palmkit approve-login`, which submits the server's
/// real login form and prints the redirect the app would receive.
final class LoginTests: XCTestCase {
    func testWholeLoginThenAccountThenLogout() async throws {
        let store = FakeSecureStore()
        let kit = try TestEnv.makeKit(store)
        let url = try await kit.startLogin()
        XCTAssertTrue(url.contains("code_challenge_method=S256"), url)
        try await kit.finishLogin(redirectUrl: try TestEnv.browser(url))
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
        let kit = try TestEnv.makeKit(store)
        let redirect = try TestEnv.browser(try await kit.startLogin(), cancel: true)
        do {
            try await kit.finishLogin(redirectUrl: redirect)
            XCTFail("a cancelled login finished")
        } catch PalmKitError.LoginCancelled {
            XCTAssertEqual(store.count, 0)
        }
    }
}
