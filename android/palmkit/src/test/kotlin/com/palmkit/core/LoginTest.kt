package com.palmkit.core

import java.io.File
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
    private fun env(name: String): String =
        System.getenv(name) ?: error("$name is not set: run this through `cargo xtask test-kotlin`")

    private fun config(): ServiceConfig = parseServiceConfig(File(env("PALMKIT_TEST_CONFIG")).readText())

    /** Plays the shopper at the login page for [url]; returns the redirect URL. */
    private fun browser(url: String, cancel: Boolean = false): String {
        val args = mutableListOf(env("PALMKIT_CLI"), "approve-login", "--config", env("PALMKIT_TEST_CONFIG"))
        if (cancel) args.add("--cancel")
        args.add(url)
        val process = ProcessBuilder(args).redirectError(ProcessBuilder.Redirect.INHERIT).start()
        val out = process.inputStream.bufferedReader().readText().trim()
        assertEquals("approve-login failed", 0, process.waitFor())
        return out
    }

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
