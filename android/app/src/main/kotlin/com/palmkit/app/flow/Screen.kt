/*
 * What the app shows, derived from the session's state and the few things only the shell
 * knows (the camera refused or busy, the card form opened). The Activity switches over it.
 */
package com.palmkit.app.flow

import com.palmkit.core.PalmKitException
import com.palmkit.core.model.FailureReason
import com.palmkit.core.model.FrameAnalysis
import com.palmkit.core.model.GuidanceCode
import com.palmkit.core.model.Hand
import com.palmkit.core.model.SessionSnapshot
import com.palmkit.core.model.SessionState

/** The camera could not be used for a capture. */
sealed interface CameraProblem {
    /** Permission refused: only the app's settings can change it. */
    data object Denied : CameraProblem

    /** The camera could not be opened. */
    data class Unavailable(val why: String) : CameraProblem
}

/** One screen of the app. */
sealed interface Screen {
    data object Starting : Screen
    data object Login : Screen
    data object Consent : Screen
    /** Choose a hand (`captured` lists the hands held) or go on to the card. */
    data class Hands(val captured: List<Hand>) : Screen
    data class Capture(val hand: Hand?) : Screen
    data class Camera(val problem: CameraProblem) : Screen
    data object Card : Screen
    /** Ready to send (`total` 0) or sending. */
    data class Upload(val confirmed: ULong, val total: ULong) : Screen
    /** Pending the store match, complete, expired or deleted (see the snapshot). */
    data object Status : Screen
    data class Failed(val reason: FailureReason, val message: String, val retryable: Boolean) : Screen

    /** Screens whose pixels must stay out of screenshots and the recents thumbnail. */
    val isSensitive: Boolean get() = this is Capture || this is Card

    companion object {
        fun of(state: SessionState, camera: CameraProblem?, enteringCard: Boolean, restored: Boolean): Screen =
            if (!restored) Starting else when (state) {
                SessionState.SignedOut -> Login
                SessionState.SignedIn -> Consent
                SessionState.ConsentGiven -> camera?.let { Camera(it) } ?: Hands(emptyList())
                is SessionState.Capturing -> Capture(state.hand)
                is SessionState.Captured -> camera?.let { Camera(it) } ?: if (enteringCard) Card else Hands(state.hands)
                SessionState.PaymentChosen -> Upload(0uL, 0uL)
                is SessionState.Uploading -> Upload(state.confirmed, state.total)
                SessionState.PendingStoreMatch, SessionState.Complete, SessionState.Expired, SessionState.Deleted -> Status
                is SessionState.Failed -> Failed(state.failure.reason, state.failure.message, state.failure.retryable)
            }
    }
}

/** The live guidance of the capture screen. */
data class LiveGuidance(
    val instruction: GuidanceCode,
    /** Localization key (`guidance.move_closer`) and the English text. */
    val messageKey: String,
    val message: String,
    /** Every check passes: draw the outline green. */
    val ready: Boolean,
    /** The palm's box in upright frame pixels (left, top, width, height); empty: none. */
    val bounds: List<Float>,
) {
    constructor(result: FrameAnalysis) : this(
        result.guidance, result.guidance.messageKey(), result.guidance.english(), result.captureReady || result.captured,
        result.hand?.bounds ?: emptyList(),
    )
}

/** Everything a screen draws. */
data class FlowUi(
    val snapshot: SessionSnapshot,
    val screen: Screen,
    val guidance: LiveGuidance?,
    /** A message about the last action (cleared by the next one). */
    val notice: String?,
    /** A call to the service runs: disable the buttons that start another. */
    val busy: Boolean,
)

/** A short message for the shopper about a failed call; never a secret or a card field. */
fun shopperMessage(error: Throwable): String = when (error) {
    is PalmKitException.Offline -> "No network. Check your connection and try again."
    is PalmKitException.ServiceUnavailable -> "The palm service is busy. Try again in a moment."
    is PalmKitException.UntrustedServer -> "This network is not safe for enrollment. Use another network."
    is PalmKitException.InvalidCard -> error.reason
    is PalmKitException.CardDeclined -> "The card was declined. Try another card."
    is PalmKitException.LoginCancelled -> "Login cancelled."
    is PalmKitException.LoginFailed -> "Login did not complete. Try again."
    is PalmKitException.SignInRequired -> "Please log in again."
    is PalmKitException.Cancelled -> "Paused. Your photos are still here, ready to send."
    is PalmKitException.ModelUnavailable -> "The app is damaged: reinstall it."
    is CameraFrameException -> "Camera problem: ${error.message}"
    else -> "Something went wrong. Try again."
}
