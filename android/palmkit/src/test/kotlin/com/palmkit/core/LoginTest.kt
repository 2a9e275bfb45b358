package com.palmkit.core

import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/**
 * A whole login through the generated bindings against a real `palmkit serve`: the test
 * plays the system browser with `palmkit approve-login`, which submits the server's real
 * login form and prints the redirect the app would receive.
 */
class LoginTest {
    private fun config() = TestEnv.config()

    private fun browser(url: String, cancel: Boolean = false) = TestEnv.browser(url, cancel)

    @Test
    fun wholeLoginThenAccountThenLogout() = runBlocking {
        val store = FakeSecureStore()
        PalmKit(config(), store).use { kit ->
            val url = kit.startLogin()
            assertTrue(url, url.contains("code_challenge_method=S256"))
            kit.finishLogin(browser(url))
            assertEquals(1, store.entries.size)
            val account = kit.account()
            assertEquals("shopper@palmkit.test", account.email)
            kit.logout()
            assertTrue("tokens left in secure storage after logout", store.entries.isEmpty())
            try {
                kit.account()
                fail("account() worked after logout")
            } catch (e: PalmKitException.SignInRequired) {
                assertTrue(e.reason.isNotEmpty())
            }
        }
    }

    @Test
    fun cancelledLoginIsTypedAndStoresNothing() = runBlocking {
        val store = FakeSecureStore()
        PalmKit(config(), store).use { kit ->
            val redirect = browser(kit.startLogin(), cancel = true)
            try {
                kit.finishLogin(redirect)
                fail("a cancelled login finished")
            } catch (e: PalmKitException.LoginCancelled) {
                assertTrue(store.entries.isEmpty())
            }
        }
    }

    @Test
    fun forgedStateIsRefusedAndStoresNothing() = runBlocking {
        val store = FakeSecureStore()
        PalmKit(config(), store).use { kit ->
            val redirect = browser(kit.startLogin()).replace(Regex("state=[^&]*"), "state=forged")
            try {
                kit.finishLogin(redirect)
                fail("a redirect with a forged state was accepted")
            } catch (e: PalmKitException.LoginFailed) {
                assertTrue(e.reason, e.reason.contains("state"))
                assertTrue(store.entries.isEmpty())
            }
        }
    }
}
