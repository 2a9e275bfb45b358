import Foundation
import XCTest

@testable import PalmKit

/// A whole login through the generated Swift bindings' EnrollmentSession against a real
/// `palmkit serve`. The test plays the system browser with `palmkit approve-login`, which
/// submits the server's real login form and prints the redirect the app would receive.
final class LoginTests: XCTestCase {
    func testWholeLoginThenAccountThenLogout() async throws {
        let store = FakeSecureStore()
        let session = try TestEnv.makeSession(store)
        _ = try await session.restore()
        let url = try await session.startLogin()
        XCTAssertTrue(url.contains("code_challenge_method=S256"), url)
        let signedIn = try await session.finishLogin(redirectUrl: try TestEnv.browser(url))
        XCTAssertEqual(signedIn.state, .signedIn)
        XCTAssertGreaterThan(store.count, 0, "no tokens in secure storage after the login")
        let account = try await session.account()
        XCTAssertEqual(account.email, "shopper@palmkit.test")
        let loggedOut = try await session.logout()
        XCTAssertEqual(loggedOut.state, .signedOut)
        XCTAssertEqual(store.count, 0, "tokens left in secure storage after logout")
        do {
            _ = try await session.account()
            XCTFail("account() worked after logout")
        } catch PalmKitError.OutOfOrder(let reason) {
            XCTAssertTrue(reason.contains("signed out"), reason)
        }
    }

    func testCancelledLoginIsTypedAndStoresNothing() async throws {
        let store = FakeSecureStore()
        let session = try TestEnv.makeSession(store)
        _ = try await session.restore()
        let redirect = try TestEnv.browser(try await session.startLogin(), cancel: true)
        do {
            _ = try await session.finishLogin(redirectUrl: redirect)
            XCTFail("a cancelled login finished")
        } catch PalmKitError.LoginCancelled {
            XCTAssertEqual(store.count, 0)
            XCTAssertEqual(session.snapshot().state, .signedOut)
        }
    }
}
