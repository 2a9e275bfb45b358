package com.palmkit.core

import com.palmkit.core.model.*
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/**
 * A whole login through the generated bindings' EnrollmentSession against a real
 * `palmkit serve`: the test plays the system browser with `palmkit approve-login`, which
 * submits the server's real login form and prints the redirect the app would receive.
 */
class LoginTest {
    private fun config() = TestEnv.config()

    private fun browser(url: String, cancel: Boolean = false) = TestEnv.browser(url, cancel)

    @Test
    fun wholeLoginThenAccountThenLogout() = runBlocking {
        val store = FakeSecureStore()
        EnrollmentSession(config(), store).use { session ->
            session.restore()
            val url = session.startLogin()
            assertTrue(url, url.contains("code_challenge_method=S256"))
            assertEquals(SessionState.SignedIn, session.finishLogin(browser(url)).state)
            assertTrue("no tokens in secure storage after the login", store.entries.isNotEmpty())
            val account = session.account()
            assertEquals("shopper@palmkit.test", account.email)
            assertEquals(SessionState.SignedOut, session.logout().state)
            assertTrue("tokens left in secure storage after logout", store.entries.isEmpty())
            try {
                session.account()
                fail("account() worked after logout")
            } catch (e: PalmKitException.OutOfOrder) {
                assertTrue(e.reason, e.reason.contains("signed out"))
            }
        }
    }

    @Test
    fun cancelledLoginIsTypedAndStoresNothing() = runBlocking {
        val store = FakeSecureStore()
        EnrollmentSession(config(), store).use { session ->
            session.restore()
            val redirect = browser(session.startLogin(), cancel = true)
            try {
                session.finishLogin(redirect)
                fail("a cancelled login finished")
            } catch (e: PalmKitException.LoginCancelled) {
                assertTrue(store.entries.isEmpty())
                assertEquals(SessionState.SignedOut, session.snapshot().state)
            }
        }
    }

    @Test
    fun forgedStateIsRefusedAndStoresNothing() = runBlocking {
        val store = FakeSecureStore()
        EnrollmentSession(config(), store).use { session ->
            session.restore()
            val redirect = browser(session.startLogin()).replace(Regex("state=[^&]*"), "state=forged")
            try {
                session.finishLogin(redirect)
                fail("a redirect with a forged state was accepted")
            } catch (e: PalmKitException.LoginFailed) {
                assertTrue(e.reason, e.reason.contains("state"))
                assertTrue(store.entries.isEmpty())
            }
        }
    }
}
