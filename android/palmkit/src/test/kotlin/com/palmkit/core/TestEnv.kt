package com.palmkit.core

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

    /** A PalmKit with the test shopper signed in. */
    suspend fun signedIn(store: FakeSecureStore = FakeSecureStore()): PalmKit {
        val kit = PalmKit(config(), store)
        kit.finishLogin(browser(kit.startLogin()))
        return kit
    }
}
