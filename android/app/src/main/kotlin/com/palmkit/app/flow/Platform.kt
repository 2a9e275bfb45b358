/*
 * The platform services the flow needs, each behind an interface so the flow model runs
 * and is tested on the desktop JVM. The app implements them with Android's framework
 * (Camera2, the browser, AndroidKeyStore, Key Attestation, TalkBack, the vibrator); the
 * tests implement them with fakes named as fakes. Nothing in this package imports android.*.
 */
package com.palmkit.app.flow

/** Whether the app may use the camera. */
enum class CameraAccess { GRANTED, DENIED }

/** The camera permission prompt (`requestPermissions(CAMERA)` through the Activity). */
fun interface CameraPermission {
    /** Asks when not granted yet; answers at once afterwards. */
    suspend fun request(): CameraAccess
}

/** The camera could not be opened (in use by another app, disabled by policy, missing). */
class CameraUnavailableException(message: String) : Exception(message)

/**
 * The running camera. The flow starts it for a capture and stops it when the capture ends or
 * the app leaves the foreground; frames arrive through [EnrollmentFlow.analyze].
 */
interface FrameSource {
    /** Starts delivering frames; throws [CameraUnavailableException] when it cannot. */
    fun start()

    /** Stops delivering frames; harmless when stopped. */
    fun stop()
}

/** Opens the login page in the system browser (`ACTION_VIEW`). */
fun interface Browser {
    fun open(url: String)
}

/** Spoken feedback (TalkBack announcements). May be called from the camera thread. */
fun interface Announcer {
    fun announce(text: String)
}

/** Touch feedback. May be called from the camera thread. */
fun interface Haptics {
    /** One tick: a hand was captured. */
    fun captured()
}

/** Every platform service the flow uses, handed over once. */
class Platform(
    val camera: CameraPermission,
    val browser: Browser,
    val announcer: Announcer,
    val haptics: Haptics,
    /** A monotonic clock in milliseconds (announcement rate limits). */
    val clock: () -> Long = { System.nanoTime() / 1_000_000 },
)
