/*
 * Upload attestation with Android Key Attestation: the one platform call the core's
 * KeyAttestationFlow needs. For each upload a fresh EC key is made in the AndroidKeyStore
 * with the service's 32-byte challenge (a nonce bound to the sealed envelope's hash) as
 * attestation challenge; its certificate chain (leaf with the KeyDescription extension up
 * to Google's root) is returned as DER, leaf first, and the key deleted. The token format
 * ("android-key-attestation-v1") is built by the core; the service verifies it offline.
 */
package com.palmkit.app.platform

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import com.palmkit.core.KeyAttestationDevice
import com.palmkit.core.AttestationException
import java.security.KeyPairGenerator
import java.security.KeyStore
import java.security.ProviderException
import java.security.spec.ECGenParameterSpec

class KeyAttestor : KeyAttestationDevice {
    override fun attestedChain(challenge: ByteArray): List<ByteArray> {
        if (challenge.size != 32) throw AttestationException.Failed("challenge of ${challenge.size} bytes, not 32")
        val alias = "palmkit-attest-" + System.nanoTime()
        try {
            val generator = KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, "AndroidKeyStore")
            generator.initialize(
                KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_SIGN)
                    .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
                    .setDigests(KeyProperties.DIGEST_SHA256)
                    .setAttestationChallenge(challenge)
                    .build(),
            )
            generator.generateKeyPair()
            val keyStore = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }
            val chain = keyStore.getCertificateChain(alias)
                ?: throw AttestationException.Unavailable("no attestation certificate chain on this device")
            keyStore.deleteEntry(alias)
            return chain.map { it.encoded }
        } catch (e: ProviderException) {
            throw AttestationException.Unavailable("Key Attestation is not supported: ${e.message}")
        }
    }
}
