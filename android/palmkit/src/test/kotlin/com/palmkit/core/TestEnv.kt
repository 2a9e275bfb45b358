package com.palmkit.core

import com.palmkit.core.model.*
import java.io.File
import org.junit.Assert.assertEquals

/**
 * What `cargo xtask test-kotlin` hands the tests: the running `palmkit serve`'s client
 * configuration, and the `palmkit` binary whose `approve-login` plays the system browser.
 */
object TestEnv {
    fun env(name: String): String =
        System.getenv(name) ?: error("$name is not set: run this through `cargo xtask test-kotlin`")

    fun config(): ServiceConfig = parseServiceConfig(File(env("PALMKIT_TEST_CONFIG")).readText())

    /** Plays the shopper at the login page for [url]; returns the redirect URL. */
    fun browser(url: String, cancel: Boolean = false): String {
        val args = mutableListOf(env("PALMKIT_CLI"), "approve-login", "--config", env("PALMKIT_TEST_CONFIG"))
        if (cancel) args.add("--cancel")
        args.add(url)
        val process = ProcessBuilder(args).redirectError(ProcessBuilder.Redirect.INHERIT).start()
        val out = process.inputStream.bufferedReader().readText().trim()
        assertEquals("approve-login failed", 0, process.waitFor())
        return out
    }

    /** A session with the test shopper signed in (a fresh device: nothing saved before). */
    suspend fun signedIn(store: FakeSecureStore = FakeSecureStore()): EnrollmentSession {
        val session = EnrollmentSession(config(), store)
        assertEquals(SessionState.SignedOut, session.restore().state)
        assertEquals(SessionState.SignedIn, session.finishLogin(browser(session.startLogin())).state)
        return session
    }

    /** Signed in and consented: the session is where the app's capture screens start. */
    suspend fun consented(store: FakeSecureStore = FakeSecureStore()): EnrollmentSession {
        val session = signedIn(store)
        session.giveConsent("biometric-2026-12")
        return session
    }

    /** Consented, the hand models loaded, capturing [hand] from camera frames. */
    suspend fun capturing(hand: Hand?): EnrollmentSession {
        val session = consented()
        session.loadModels(env("PALMKIT_TEST_MODELS"))
        session.startHand(hand)
        return session
    }

    /** The test card, saved in the wallet by [session]. */
    suspend fun addTestCard(session: EnrollmentSession): PaymentMethod {
        val card = CardInput(number = "4242 4242 4242 4242", expMonth = 12u, expYear = 2040u, cvc = "123", cardholderName = "Test Shopper")
        return (session.addCard(card) as AddCardOutcome.Added).method
    }

    /** [hand] held from the palm photo file and a card chosen: `upload` may run. */
    suspend fun readyToUpload(session: EnrollmentSession, hand: Hand) {
        session.startHand(hand)
        session.addCaptureFile(hand, File(env("PALMKIT_TEST_IMAGE")).readBytes())
        session.choosePayment(addTestCard(session).id)
        assertEquals(SessionState.PaymentChosen, session.snapshot().state)
    }
}
