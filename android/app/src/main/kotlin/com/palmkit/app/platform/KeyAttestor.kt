/*
 * Upload attestation with Android Key Attestation: for each upload a fresh EC key is made in
 * the AndroidKeyStore with the service's 32-byte challenge (a nonce bound to the sealed
 * envelope's hash) as attestation challenge; its certificate chain — leaf with the
 * attestation extension up to Google's root — is the token: the bytes of a JSON list of
 * base64 DER certificates, format "android-key-attestation-v1". The reference server does
 * not verify this format yet (production mode refuses it; development mode needs none).
 */
package com.palmkit.app.platform

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.util.Base64
import com.palmkit.core.AttestationException
import com.palmkit.core.AttestationToken
import com.palmkit.core.Attestor
import java.security.KeyPairGenerator
import java.security.KeyStore
import java.security.ProviderException
import java.security.spec.ECGenParameterSpec
import org.json.JSONArray

class KeyAttestor : Attestor {
    override fun attest(challenge: ByteArray): AttestationToken {
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
            val list = JSONArray()
            chain.forEach { list.put(Base64.encodeToString(it.encoded, Base64.NO_WRAP)) }
            return AttestationToken("android-key-attestation-v1", list.toString().toByteArray())
        } catch (e: ProviderException) {
            throw AttestationException.Unavailable("Key Attestation is not supported: ${e.message}")
        }
    }
}
