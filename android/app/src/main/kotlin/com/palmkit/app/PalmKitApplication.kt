/*
 * The process: holds the one EnrollmentFlow (so a recreated Activity finds it unchanged) and
 * the platform services, which reach the Activity on screen for the permission prompt and
 * announcements.
 */
package com.palmkit.app

import android.app.Application
import com.palmkit.app.flow.CameraAccess
import com.palmkit.app.flow.EnrollmentFlow
import com.palmkit.app.flow.FrameSource
import com.palmkit.app.flow.Platform
import com.palmkit.app.platform.KeyAttestor
import com.palmkit.app.platform.KeystoreSecureStore
import com.palmkit.app.platform.LogcatSink
import com.palmkit.app.platform.SystemBrowser
import com.palmkit.app.platform.TalkBackAnnouncer
import com.palmkit.app.platform.VibratorHaptics
import com.palmkit.core.EnrollmentSession
import com.palmkit.core.LogLevel
import com.palmkit.core.initPlatform
import com.palmkit.core.parseServiceConfig
import java.io.File

class PalmKitApplication : Application() {
    companion object {
        /**
         * Builds the flow instead of [defaultFlow]: the Robolectric tests set it (Robolectric has
         * no AndroidKeyStore; they use a fake store and the development attestation).
         */
        @Volatile
        var flowFactory: ((PalmKitApplication, Platform) -> EnrollmentFlow)? = null

        /** Makes the capture screen's camera instead of Camera2 (Robolectric has no camera frames). */
        @Volatile
        var cameraFactory: ((EnrollmentFlow) -> FrameSource)? = null
    }

    /** The Activity on screen, for the permission prompt and TalkBack. */
    @Volatile
    var activity: MainActivity? = null

    /** Why the flow could not be made (a build without the core library or its config). */
    var startupError: String? = null
        private set

    val platform: Platform by lazy {
        Platform(
            camera = { activity?.requestCamera() ?: CameraAccess.DENIED },
            browser = SystemBrowser(this) { startupError = it },
            announcer = TalkBackAnnouncer { activity?.window?.decorView },
            haptics = VibratorHaptics(this),
        )
    }

    /** The flow, or null when this build cannot make one ([startupError] says why). */
    val flow: EnrollmentFlow? by lazy {
        try {
            (flowFactory ?: ::defaultFlow)(this, platform)
        } catch (e: Throwable) {
            // UnsatisfiedLinkError included: the APK built on Linux has no native library.
            startupError = when (e) {
                is UnsatisfiedLinkError -> "This build has no PalmKit core library for this phone (see android/README.md)."
                else -> "PalmKit cannot start: ${e.message}"
            }
            null
        }
    }

    /** The service configuration and hand models bundled as assets; the Keystore store. */
    private fun defaultFlow(app: PalmKitApplication, platform: Platform): EnrollmentFlow {
        runCatching { initPlatform(LogLevel.INFO, LogcatSink()) }
        val json = assets.open("client-config.json").use { it.readBytes().toString(Charsets.UTF_8) }
        val config = parseServiceConfig(json)
        val session = EnrollmentSession(config, KeystoreSecureStore(app))
        session.loadModels(copyModels().path)
        session.setKeyAttestation(KeyAttestor())
        return EnrollmentFlow(session, config.redirectUri, platform)
    }

    /** The models ship as assets; the core reads files: copied to app-private storage once. */
    private fun copyModels(): File {
        val dir = File(noBackupFilesDir, "models").apply { mkdirs() }
        for (name in assets.list("models").orEmpty()) {
            val target = File(dir, name)
            if (!target.exists()) {
                assets.open("models/$name").use { input -> target.outputStream().use { input.copyTo(it) } }
            }
        }
        return dir
    }
}
