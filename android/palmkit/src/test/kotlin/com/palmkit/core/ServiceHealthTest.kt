package com.palmkit.core

import com.palmkit.core.model.*
import java.io.File
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/**
 * The generated Kotlin bindings against a real `palmkit serve` on 127.0.0.1, started by
 * `cargo xtask test-kotlin`, which passes its client configuration in PALMKIT_TEST_CONFIG
 * and another data directory's CA certificate in PALMKIT_TEST_OTHER_CA.
 */
class ServiceHealthTest {
    private fun env(name: String): String =
        System.getenv(name) ?: error("$name is not set: run this through `cargo xtask test-kotlin`")

    private fun config(): ServiceConfig = parseServiceConfig(File(env("PALMKIT_TEST_CONFIG")).readText())

    @Test
    fun healthCheckPassesOverPinnedTls() = runBlocking {
        val config = config()
        EnrollmentSession(config, FakeSecureStore()).use { session ->
            val health = session.health()
            assertEquals("ok", health.status)
            assertEquals(config.serviceKey.id, health.currentKeyId)
            assertEquals(coreVersion(), health.version)
        }
    }

    @Test
    fun anotherCaIsRefusedAsUntrusted() = runBlocking {
        val otherCa = File(env("PALMKIT_TEST_OTHER_CA")).readText()
        val config = config()
        EnrollmentSession(config.copy(trust = config.trust.copy(caPem = otherCa)), FakeSecureStore()).use { session ->
            try {
                session.health()
                fail("a client pinned to another CA reached the server")
            } catch (e: PalmKitException.UntrustedServer) {
                assertTrue(e.reason, e.reason.contains("not issued by the pinned CA"))
            }
        }
    }

    @Test
    fun wrongSpkiPinIsRefusedAsUntrusted() = runBlocking {
        val wrongPin = java.util.Base64.getEncoder().encodeToString(ByteArray(32))
        val config = config()
        EnrollmentSession(config.copy(trust = config.trust.copy(spkiSha256 = listOf(wrongPin))), FakeSecureStore()).use { session ->
            try {
                session.health()
                fail("a client with a wrong SPKI pin reached the server")
            } catch (e: PalmKitException.UntrustedServer) {
                assertTrue(e.reason, e.reason.contains("pinned public key"))
            }
        }
    }

    @Test
    fun unpinnedOrPlainHttpConfigIsRefusedBeforeAnyRequest() {
        val config = config()
        for (bad in listOf(
            config.copy(trust = TrustAnchors(caPem = null, spkiSha256 = emptyList())),
            config.copy(baseUrl = config.baseUrl.replace("https://", "http://")),
        )) {
            try {
                EnrollmentSession(bad, FakeSecureStore()).close()
                fail("an unusable configuration was accepted: $bad")
            } catch (e: PalmKitException.InvalidConfig) {
                assertTrue(e.reason.isNotEmpty())
            }
        }
        try {
            parseServiceConfig("{\"base_url\": 1}")
            fail("malformed JSON configuration was accepted")
        } catch (e: PalmKitException.InvalidConfig) {
            assertTrue(e.reason, e.reason.contains("configuration"))
        }
    }
}
