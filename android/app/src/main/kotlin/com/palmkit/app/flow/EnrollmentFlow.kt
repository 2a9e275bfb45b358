/*
 * The app's flow model: one object the Activity observes ([ui]) and calls, over the core's
 * EnrollmentSession. It holds no business rule — the session decides every transition, and
 * after every call and listener callback the flow re-reads `session.snapshot()` — only what a
 * shell must: which screen, the camera and its back-pressure, spoken guidance, the haptic,
 * and what leaving the foreground does. It lives as long as the process (the Application
 * holds it), so an Activity recreated by a rotation finds it unchanged.
 */
package com.palmkit.app.flow

import com.palmkit.core.CardInput
import com.palmkit.core.EnrollmentSessionInterface
import com.palmkit.core.PalmKitException
import com.palmkit.core.SessionListener
import com.palmkit.core.model.AddCardOutcome
import com.palmkit.core.model.FailureReason
import com.palmkit.core.model.FrameAnalysis
import com.palmkit.core.model.Hand
import com.palmkit.core.model.SessionSnapshot
import com.palmkit.core.model.SessionState
import java.lang.ref.WeakReference
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asSharedFlow
import kotlinx.coroutines.flow.asStateFlow

class EnrollmentFlow(
    /** The core's session; thread-safe (the camera thread calls `analyzeFrame`). */
    /** Typed as the generated interface, so a test may drive the flow with a fake session. */
    val session: EnrollmentSessionInterface,
    /** The service configuration's redirect URI (`com.palmkit.app:/oauth2redirect`). */
    private val redirectUri: String,
    private val platform: Platform,
) {
    companion object {
        /** The consent text's version recorded at the service (bump it with the text). */
        const val CONSENT_VERSION = "biometric-2026-12"
    }

    /** The camera path's gate (back-pressure and counters). */
    val gate = FrameGate()

    private val lock = Any()
    private var restored = false
    private var cameraProblem: CameraProblem? = null
    private var enteringCard = false
    private var captureHand: Hand? = null
    private var guidance: LiveGuidance? = null
    private var notice: String? = null
    private var busy = 0
    private var interrupted: Interruption? = null
    private var frameSource: FrameSource? = null
    private val throttle = AnnouncementThrottle()

    private sealed interface Interruption {
        data class Capture(val hand: Hand?) : Interruption
        data object Upload : Interruption
    }

    private val state = MutableStateFlow(compute(session.snapshot()))

    /** What the screens draw; updated from any thread. */
    val ui: StateFlow<FlowUi> = state.asStateFlow()

    private val progressEvents = MutableSharedFlow<Pair<ULong, ULong>>(extraBufferCapacity = 64)

    /** Upload progress: confirmed and total sealed bytes. */
    val progress: SharedFlow<Pair<ULong, ULong>> = progressEvents.asSharedFlow()

    init {
        session.setListener(Bridge(this))
    }

    private fun compute(snapshot: SessionSnapshot) = FlowUi(
        snapshot = snapshot,
        screen = Screen.of(snapshot.state, cameraProblem, enteringCard, restored),
        guidance = guidance,
        notice = notice,
        busy = busy > 0,
    )

    /**
     * Re-reads the session and publishes; stops the camera when no capture runs. Called after
     * every step; call it after driving the session directly (QA builds, tests).
     */
    fun sync() {
        val snapshot = session.snapshot()
        if (snapshot.state !is SessionState.Capturing) endCamera()
        synchronized(lock) { state.value = compute(snapshot) }
    }

    private fun <T> edit(change: () -> T): T = synchronized(lock) { change() }.also { sync() }

    /** Attaches the camera the capture screen made; started now if a capture runs. */
    fun attach(camera: FrameSource?) {
        synchronized(lock) { frameSource = camera }
        if (camera != null && session.snapshot().state is SessionState.Capturing) startCamera()
    }

    /** The camera failed or was taken away: the capture stops, the screen says why. */
    fun cameraFailed(why: String) {
        endCamera()
        runCatching { session.cancelCapture() }
        edit { cameraProblem = CameraProblem.Unavailable(why) }
    }

    private fun startCamera() {
        val source = synchronized(lock) { frameSource } ?: return
        try {
            source.start()
        } catch (e: CameraUnavailableException) {
            cameraFailed(e.message ?: "the camera cannot be opened")
        }
    }

    private fun endCamera() {
        gate.close()
        synchronized(lock) { frameSource }?.stop()
    }

    // Steps.

    /** Restores the saved progress (process start). */
    suspend fun start() {
        perform {
            if (session.restore().state == SessionState.PendingStoreMatch) session.refresh()
        }
        edit { restored = true }
    }

    /** Opens the login page in the browser; the redirect comes back through [onRedirect]. */
    suspend fun login() {
        perform { platform.browser.open(session.startLogin()) }
    }

    /**
     * A URI delivered to the app's redirect intent-filter. False when it is not the app's
     * redirect (then nothing happens); else the login finishes (or fails with a notice).
     */
    suspend fun onRedirect(uri: String): Boolean {
        if (!uri.startsWith(redirectUri)) return false
        perform { session.finishLogin(uri) }
        return true
    }

    suspend fun giveConsent() {
        perform { session.giveConsent(CONSENT_VERSION) }
    }

    /**
     * Asks for the camera (once), then starts guiding towards a capture of [hand]. Nothing
     * happens before consent: the camera is not even asked for.
     */
    suspend fun startCapture(hand: Hand?) {
        edit { notice = null }
        when (session.snapshot().state) {
            SessionState.ConsentGiven, is SessionState.Captured -> {}
            is SessionState.Capturing -> return
            SessionState.SignedOut, SessionState.SignedIn -> return edit { notice = "Give your consent first." }
            else -> return edit { notice = "Your palms are already on their way." }
        }
        edit { enteringCard = false }
        if (platform.camera.request() != CameraAccess.GRANTED) {
            return edit { cameraProblem = CameraProblem.Denied }
        }
        edit { cameraProblem = null }
        try {
            session.startHand(hand)
        } catch (e: PalmKitException) {
            return edit { notice = shopperMessage(e) }
        }
        synchronized(lock) {
            captureHand = hand
            guidance = null
        }
        throttle.reset()
        gate.open()
        startCamera()
        sync()
    }

    /** Leaves the capture screen; hands already captured stay held. */
    fun cancelCapture() {
        endCamera()
        runCatching { session.cancelCapture() }
        sync()
    }

    fun dismissCameraProblem() = edit { cameraProblem = null }

    /**
     * Analyzes one camera frame, on the camera's background thread. A frame that arrives
     * while another is analyzed, or when no capture runs, is dropped (null).
     */
    fun analyze(frame: YuvFrame): FrameAnalysis? {
        if (!gate.tryEnter()) return null
        try {
            val (bytes, info) = frame.packed()
            try {
                val result = session.analyzeFrame(bytes, info)
                analyzed(result)
                return result
            } finally {
                bytes.fill(0)
            }
        } catch (e: Exception) {
            edit { notice = shopperMessage(e) }
            return null
        } finally {
            gate.leave()
        }
    }

    private fun analyzed(result: FrameAnalysis) {
        synchronized(lock) { guidance = LiveGuidance(result) }
        if (throttle.shouldAnnounce(result.guidance, platform.clock())) platform.announcer.announce(result.guidance.english())
        if (result.captured) {
            platform.haptics.captured()
            endCamera()
        }
        sync()
    }

    fun enterCard() = edit { if (session.snapshot().state is SessionState.Captured) enteringCard = true }

    fun leaveCard() = edit { enteringCard = false }

    /**
     * Adds the card and chooses it. The details go to the core and are never logged or kept
     * here. A card the bank wants confirmed opens its page in the browser; the shopper comes
     * back and [confirmCard] finishes.
     */
    suspend fun addCard(card: CardInput) {
        perform {
            when (val added = session.addCard(card)) {
                is AddCardOutcome.Added -> {
                    session.choosePayment(added.method.id)
                    synchronized(lock) { enteringCard = false }
                }
                is AddCardOutcome.RequiresAction -> platform.browser.open(added.url)
            }
        }
    }

    /** After the bank's page: the confirmed card is chosen. */
    suspend fun confirmCard() {
        perform {
            session.choosePayment(session.resumeAddCard().id)
            synchronized(lock) { enteringCard = false }
        }
    }

    suspend fun upload() = perform { session.upload() }

    fun cancelUpload() {
        session.cancelUpload()
    }

    suspend fun refresh() = perform { session.refresh() }

    suspend fun delete() = perform { session.delete() }

    fun enrollAgain() {
        try {
            session.enrollAgain()
        } catch (e: PalmKitException) {
            synchronized(lock) { notice = shopperMessage(e) }
        }
        sync()
    }

    suspend fun logout() = perform { session.logout() }

    /** Tries a failed step again the way its reason says. */
    suspend fun retry() {
        val failed = session.snapshot().state as? SessionState.Failed ?: return
        when (failed.failure.reason) {
            FailureReason.CAPTURE_TIMED_OUT, FailureReason.SPOOF_SUSPECTED -> startCapture(synchronized(lock) { captureHand })
            FailureReason.OFFLINE, FailureReason.SERVICE_UNAVAILABLE -> upload()
            else -> enrollAgain()
        }
    }

    // Lifecycle.

    /**
     * The app left the foreground (onStop): stop the camera, pause an upload — unless the
     * Activity is only being recreated (a rotation), when the upload goes on.
     */
    fun onBackground(pauseUpload: Boolean = true) {
        when (val s = session.snapshot().state) {
            is SessionState.Capturing -> {
                synchronized(lock) { interrupted = Interruption.Capture(s.hand) }
                cancelCapture()
            }
            is SessionState.Uploading -> if (pauseUpload) {
                synchronized(lock) { interrupted = Interruption.Upload }
                cancelUpload()
            }
            else -> {}
        }
    }

    /** Back in the foreground (onStart): resume what the background interrupted. */
    suspend fun onForeground() {
        val resume = synchronized(lock) { interrupted.also { interrupted = null } }
        when (resume) {
            is Interruption.Capture -> startCapture(resume.hand)
            Interruption.Upload -> upload()
            null -> if (session.snapshot().state == SessionState.PendingStoreMatch) refresh()
        }
    }

    /** Runs a service call with the busy flag up; a failure becomes the notice. */
    private suspend fun perform(work: suspend () -> Unit) {
        edit {
            busy += 1
            notice = null
        }
        try {
            work()
        } catch (e: PalmKitException) {
            synchronized(lock) { notice = shopperMessage(e) }
        } finally {
            edit { busy -= 1 }
        }
    }

    private fun progressed(confirmed: ULong, total: ULong) {
        progressEvents.tryEmit(confirmed to total)
        sync()
    }

    /** The session's listener (core threads); holds the flow weakly. */
    private class Bridge(flow: EnrollmentFlow) : SessionListener {
        private val flow = WeakReference(flow)

        override fun onStateChanged(snapshot: SessionSnapshot) {
            flow.get()?.sync()
        }

        override fun onUploadProgress(confirmed: ULong, total: ULong) {
            flow.get()?.progressed(confirmed, total)
        }
    }
}
