package com.palmkit.core

import com.palmkit.core.model.*
import java.util.Base64
import java.util.concurrent.CopyOnWriteArrayList

/**
 * A fake of AndroidKeyStore's Key Attestation (the app's KeyAttestor): each call makes a
 * fresh key's certificate chain for [pkg] over the challenge, under the test server's
 * attestation root (`palmkit attestation test-key-chain`), so the service verifies it as it
 * verifies a device's. The token around it is the core's (KeyAttestationFlow).
 */
class FakeKeyStore(private val pkg: String = "com.palmkit.app") : KeyAttestationDevice {
    val challenges = CopyOnWriteArrayList<ByteArray>()

    override fun attestedChain(challenge: ByteArray): List<ByteArray> {
        challenges.add(challenge)
        val hex = challenge.joinToString("") { "%02x".format(it) }
        val process = ProcessBuilder(
            TestEnv.env("PALMKIT_CLI"), "attestation", "test-key-chain",
            "--root", TestEnv.env("PALMKIT_TEST_ATTESTATION_ROOT"), "--package", pkg, "--challenge", hex,
        ).redirectError(ProcessBuilder.Redirect.INHERIT).start()
        val out = process.inputStream.bufferedReader().readText().trim()
        if (process.waitFor() != 0) throw AttestationException.Failed("test-key-chain failed")
        // The app's token: a JSON array of standard base64 (no commas or quotes inside).
        return out.removePrefix("[").removeSuffix("]").split(",")
            .map { Base64.getDecoder().decode(it.trim().removeSurrounding("\"")) }
    }
}
