import Foundation
import XCTest

@testable import PalmKit

/// Adding and linking a card through the generated Swift bindings, against a real
/// `palmkit serve` (started by `cargo xtask test-swift`).
final class PaymentTests: XCTestCase {
    private func env(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name] else {
            throw XCTSkip("\(name) is not set: run this through `cargo xtask test-swift`")
        }
        return value
    }

    /// A PalmKit with the test shopper signed in; `palmkit approve-login` plays the browser.
    private func signedIn() async throws -> PalmKit {
        let json = try String(contentsOfFile: try env("PALMKIT_TEST_CONFIG"), encoding: .utf8)
        let kit = try PalmKit(config: try parseServiceConfig(json: json), store: FakeSecureStore())
        let url = try await kit.startLogin()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try env("PALMKIT_CLI"))
        process.arguments = ["approve-login", "--config", try env("PALMKIT_TEST_CONFIG"), url]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let redirect = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        try await kit.finishLogin(redirectUrl: redirect)
        return kit
    }

    private func card(_ number: String) -> CardDetails {
        CardDetails(number: number, expMonth: 12, expYear: 2040, cvc: "123", cardholderName: "Test Shopper")
    }

    func testAddACardAndLinkItToThePalm() async throws {
        let kit = try await signedIn()
        guard case .added(let method) = try await kit.addCard(card: card("5555 5555 5555 4444")) else {
            return XCTFail("the test card asked for confirmation")
        }
        XCTAssertEqual(method.brand, "mastercard")
        XCTAssertEqual(method.last4, "4444")
        let key = try newIdempotencyKey()
        let link = try await kit.linkPaymentMethod(paymentMethodId: method.id, idempotencyKey: key)
        let retried = try await kit.linkPaymentMethod(paymentMethodId: method.id, idempotencyKey: key)
        XCTAssertEqual(link, retried)
        let wallet = try await kit.paymentMethods()
        XCTAssertTrue(wallet.methods.contains(method))
        XCTAssertEqual(wallet.linkedId, method.id)
    }

    func testDeclinedCardIsTyped() async throws {
        let kit = try await signedIn()
        do {
            _ = try await kit.addCard(card: card("4000000000000002"))
            XCTFail("the declined test card was accepted")
        } catch PalmKitError.CardDeclined(let reason) {
            XCTAssertEqual(reason, "Your card was declined.")
        }
    }
}
