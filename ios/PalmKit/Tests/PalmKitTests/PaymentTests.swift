import Foundation
import XCTest

@testable import PalmKit

/// Adding and linking a card through the generated Swift bindings, against a real
/// `palmkit serve` (started by `cargo xtask test-swift`).
final class PaymentTests: XCTestCase {
    private func card(_ number: String) -> CardDetails {
        CardDetails(number: number, expMonth: 12, expYear: 2040, cvc: "123", cardholderName: "Test Shopper")
    }

    func testAddACardAndLinkItToThePalm() async throws {
        let kit = try await TestEnv.signedIn()
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
        let kit = try await TestEnv.signedIn()
        do {
            _ = try await kit.addCard(card: card("4000000000000002"))
            XCTFail("the declined test card was accepted")
        } catch PalmKitError.CardDeclined(let reason) {
            XCTAssertEqual(reason, "Your card was declined.")
        }
    }
}
