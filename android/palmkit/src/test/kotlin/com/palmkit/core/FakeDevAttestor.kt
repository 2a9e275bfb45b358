package com.palmkit.core

import com.palmkit.core.model.*
import java.io.File
import java.util.Base64
import java.util.concurrent.CopyOnWriteArrayList

/**
 * A fake of a whole-statement attestor (the app uses Key Attestation): signs each challenge in
 * the reference server's development format with its development key, and records the
 * challenges it was asked to sign.
 */
class FakeDevAttestor : Attestor {
    private val key: ByteArray = Base64.getUrlDecoder()
        .decode(File(TestEnv.env("PALMKIT_TEST_DEV_ATTESTATION_KEY")).readText().trim())
    val challenges = CopyOnWriteArrayList<ByteArray>()

    override fun attest(challenge: ByteArray): Attestation {
        challenges.add(challenge)
        return Attestation("palmkit-dev-v1", devAttestationToken(key, challenge))
    }
}

/** A fake device without attestation hardware. */
class FakeUnattestableDevice : Attestor {
    override fun attest(challenge: ByteArray): Attestation =
        throw AttestationException.Unavailable("no attestation keystore on this device")
}
