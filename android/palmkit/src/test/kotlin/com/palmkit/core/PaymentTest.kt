package com.palmkit.core

import com.palmkit.core.model.*
import java.io.File
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/** Adding and linking a card through the generated bindings' session, against a real `palmkit serve`. */
class PaymentTest {
    private fun card(number: String) =
        CardInput(number = number, expMonth = 12u, expYear = 2040u, cvc = "123", cardholderName = "Test Shopper")

    @Test
    fun addACardAndLinkItToThePalm() = runBlocking {
        TestEnv.consented().use { session ->
            val added = session.addCard(card("4242 4242 4242 4242"))
            val method = (added as AddCardOutcome.Added).method
            assertEquals("visa", method.brand)
            assertEquals("4242", method.last4)
            // A card is linked to the palm profile once a palm is held.
            try {
                session.choosePayment(method.id)
                fail("a card was linked before any palm was captured")
            } catch (e: PalmKitException.OutOfOrder) {
                assertTrue(e.reason, e.reason.contains("choose_payment"))
            }
            session.startHand(Hand.RIGHT)
            session.addCaptureFile(Hand.RIGHT, File(TestEnv.env("PALMKIT_TEST_IMAGE")).readBytes())
            val link = session.choosePayment(method.id)
            assertEquals(method.id, link.paymentMethodId)
            // Chosen again (the shopper went back to the card step): the same method, linked
            // anew (its time is the new link's).
            assertEquals(method.id, session.choosePayment(method.id).paymentMethodId)
            assertEquals(SessionState.PaymentChosen, session.snapshot().state)
            val wallet = session.wallet()
            assertTrue(wallet.paymentMethods.contains(method))
            assertEquals(method.id, wallet.linkedPaymentMethodId)
        }
    }

    @Test
    fun badAndDeclinedCardsAreTyped() = runBlocking {
        TestEnv.signedIn().use { session ->
            // Tests share the test shopper's account: compare with what was there before.
            val before = session.wallet().paymentMethods.size
            try {
                session.addCard(card("4242 4242 4242 4241"))
                fail("a card with a bad checksum was accepted")
            } catch (e: PalmKitException.InvalidCard) {
                assertTrue(e.reason, e.reason.contains("card number"))
            }
            try {
                session.addCard(card("4000000000000002"))
                fail("the declined test card was accepted")
            } catch (e: PalmKitException.CardDeclined) {
                assertEquals("Your card was declined.", e.reason)
            }
            assertEquals(before, session.wallet().paymentMethods.size)
        }
    }
}
