/*
 * The tokens and the non-biometric progress, wrapped with an AES-256-GCM key that never
 * leaves the AndroidKeyStore, kept in app-private SharedPreferences (never backed up:
 * allowBackup=false). Each value: base64(12-byte IV || ciphertext+tag), with the entry's key
 * name as associated data so a value cannot be moved to another entry.
 */
package com.palmkit.app.platform

import android.annotation.SuppressLint
import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.util.Base64
import android.util.Log
import com.palmkit.core.SecureStore
import com.palmkit.core.SecureStoreException
import java.security.KeyStore
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

class KeystoreSecureStore(context: Context) : SecureStore {
    private val prefs = context.getSharedPreferences("palmkit-secure", Context.MODE_PRIVATE)
    private val alias = "palmkit-store-key"

    private fun key(): SecretKey {
        val keyStore = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }
        (keyStore.getKey(alias, null) as? SecretKey)?.let { return it }
        val generator = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
        generator.init(
            KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .build(),
        )
        return generator.generateKey()
    }

    private fun failed(what: String, e: Exception) =
        SecureStoreException.Failed("Keystore $what: ${e.javaClass.simpleName}")

    @SuppressLint("ApplySharedPref")
    @Synchronized
    override fun load(key: String): String? {
        val stored = prefs.getString(key, null) ?: return null
        try {
            val bytes = Base64.decode(stored, Base64.NO_WRAP)
            val cipher = Cipher.getInstance("AES/GCM/NoPadding")
            cipher.init(Cipher.DECRYPT_MODE, key(), GCMParameterSpec(128, bytes, 0, 12))
            cipher.updateAAD(key.toByteArray())
            return String(cipher.doFinal(bytes, 12, bytes.size - 12), Charsets.UTF_8)
        } catch (e: Exception) {
            // The key is gone (app data restored elsewhere, keystore reset) or the value was
            // altered: it can never be read again. Dropping it means a new login, not a
            // shopper stuck on an error forever; the core logs the missing login.
            Log.w("PalmKit", "secure store: dropped an unreadable entry (${e.javaClass.simpleName})")
            prefs.edit().remove(key).commit()
            return null
        }
    }

    // commit(), not apply(): the core counts a save as done (tokens, progress) when this returns.
    @SuppressLint("ApplySharedPref")
    @Synchronized
    override fun save(key: String, secret: String) {
        try {
            val cipher = Cipher.getInstance("AES/GCM/NoPadding")
            cipher.init(Cipher.ENCRYPT_MODE, key())
            cipher.updateAAD(key.toByteArray())
            val sealed = cipher.iv + cipher.doFinal(secret.toByteArray(Charsets.UTF_8))
            if (!prefs.edit().putString(key, Base64.encodeToString(sealed, Base64.NO_WRAP)).commit()) {
                throw SecureStoreException.Failed("could not write the app's private storage")
            }
        } catch (e: SecureStoreException) {
            throw e
        } catch (e: Exception) {
            throw failed("wrap", e)
        }
    }

    @SuppressLint("ApplySharedPref")
    @Synchronized
    override fun delete(key: String) {
        prefs.edit().remove(key).commit()
    }
}
