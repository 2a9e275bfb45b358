package com.palmkit.core

import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/** Adding and linking a card through the generated bindings, against a real `palmkit serve`. */
class PaymentTest {
    private fun card(number: String) =
        CardDetails(number = number, expMonth = 12u, expYear = 2040u, cvc = "123", cardholderName = "Test Shopper")

    @Test
    fun addACardAndLinkItToThePalm() = runBlocking {
        TestEnv.signedIn().use { kit ->
            val added = kit.addCard(card("4242 4242 4242 4242"))
            val method = (added as AddCardResult.Added).method
            assertEquals("visa", method.brand)
            assertEquals("4242", method.last4)
            val key = newIdempotencyKey()
            val link = kit.linkPaymentMethod(method.id, key)
            // A retry with the same key (an answer lost on the way) changes nothing.
            assertEquals(link, kit.linkPaymentMethod(method.id, key))
            val wallet = kit.paymentMethods()
            assertTrue(wallet.methods.contains(method))
            assertEquals(method.id, wallet.linkedId)
        }
    }

    @Test
    fun badAndDeclinedCardsAreTyped() = runBlocking {
        TestEnv.signedIn().use { kit ->
            // Tests share the test shopper's account: compare with what was there before.
            val before = kit.paymentMethods().methods.size
            try {
                kit.addCard(card("4242 4242 4242 4241"))
                fail("a card with a bad checksum was accepted")
            } catch (e: PalmKitException.InvalidCard) {
                assertTrue(e.reason, e.reason.contains("card number"))
            }
            try {
                kit.addCard(card("4000000000000002"))
                fail("the declined test card was accepted")
            } catch (e: PalmKitException.CardDeclined) {
                assertEquals("Your card was declined.", e.reason)
            }
            assertEquals(before, kit.paymentMethods().methods.size)
        }
    }
}
