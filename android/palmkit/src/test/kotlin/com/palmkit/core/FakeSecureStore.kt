package com.palmkit.core

import com.palmkit.core.model.*
import java.util.concurrent.ConcurrentHashMap

/**
 * A fake of the platform secure storage for desktop tests: in memory, thread-safe. The app
 * implements SecureStore over the Android Keystore instead.
 */
class FakeSecureStore : SecureStore {
    val entries = ConcurrentHashMap<String, String>()

    override fun load(key: String): String? = entries[key]

    override fun save(key: String, secret: String) {
        entries[key] = secret
    }

    override fun delete(key: String) {
        entries.remove(key)
    }
}
