import Foundation
import XCTest

@testable import PalmKit

/// Adding and linking a card through the generated Swift bindings' session, against a real
/// `palmkit serve` (started by `cargo xtask test-swift`).
final class PaymentTests: XCTestCase {
    private func card(_ number: String) -> CardInput {
        CardInput(number: number, expMonth: 12, expYear: 2040, cvc: "123", cardholderName: "Test Shopper")
    }

    func testAddACardAndLinkItToThePalm() async throws {
        let session = try await TestEnv.consented()
        guard case .added(let method) = try await session.addCard(card: card("5555 5555 5555 4444")) else {
            return XCTFail("the test card asked for confirmation")
        }
        XCTAssertEqual(method.brand, "mastercard")
        XCTAssertEqual(method.last4, "4444")
        // A card is linked to the palm profile once a palm is held.
        do {
            _ = try await session.choosePayment(paymentMethodId: method.id)
            XCTFail("a card was linked before any palm was captured")
        } catch PalmKitError.OutOfOrder(let reason) {
            XCTAssertTrue(reason.contains("choose_payment"), reason)
        }
        _ = try session.startHand(hand: .right)
        let photo = try Data(contentsOf: URL(fileURLWithPath: try TestEnv.env("PALMKIT_TEST_IMAGE")))
        _ = try session.addCaptureFile(hand: .right, image: photo)
        let link = try await session.choosePayment(paymentMethodId: method.id)
        XCTAssertEqual(link.paymentMethodId, method.id)
        // Chosen again (the shopper went back to the card step): the same method, linked anew.
        let again = try await session.choosePayment(paymentMethodId: method.id)
        XCTAssertEqual(again.paymentMethodId, method.id)
        let wallet = try await session.wallet()
        XCTAssertTrue(wallet.paymentMethods.contains(method))
        XCTAssertEqual(wallet.linkedPaymentMethodId, method.id)
    }

    func testDeclinedCardIsTyped() async throws {
        let session = try await TestEnv.signedIn()
        do {
            _ = try await session.addCard(card: card("4000000000000002"))
            XCTFail("the declined test card was accepted")
        } catch PalmKitError.CardDeclined(let reason) {
            XCTAssertEqual(reason, "Your card was declined.")
        }
    }
}
