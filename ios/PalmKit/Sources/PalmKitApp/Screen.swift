// What the app shows, derived from the session's state and the few things only the shell
// knows (the camera refused or busy, the card form opened). The UI switches over it.

import PalmKit

/// The camera could not be used for a capture.
public enum CameraProblem: Equatable, Sendable {
    /// Permission refused: only Settings can change it.
    case denied
    /// The camera could not be opened (another app uses it, or none works).
    case unavailable(String)
}

/// One screen of the app.
public enum Screen: Equatable, Sendable {
    /// Restoring the saved progress.
    case starting
    /// Log in through the system browser.
    case login
    /// The biometric consent: what is captured, where it goes, how to delete it.
    case consent
    /// Choose the next step: a hand (`captured` lists the hands held), or the card.
    case hands(captured: [Hand])
    /// The live camera for `hand` (nil: either hand).
    case capture(hand: Hand?)
    /// The camera is refused or busy.
    case camera(CameraProblem)
    /// Card entry.
    case card
    /// Ready to send, or sending (`total` 0 until the first progress).
    case upload(confirmed: UInt64, total: UInt64)
    /// Pending the store match, complete, expired or deleted (see the snapshot's state).
    case status
    /// A step failed; `retryable` says whether trying it again may help.
    case failed(reason: FailureReason, message: String, retryable: Bool)

    /// The screen for a session state.
    static func of(
        _ state: SessionState, camera: CameraProblem?, enteringCard: Bool, restored: Bool
    ) -> Screen {
        guard restored else { return .starting }
        switch state {
        case .signedOut: return .login
        case .signedIn: return .consent
        case .consentGiven:
            if let camera { return .camera(camera) }
            return .hands(captured: [])
        case .capturing(let hand): return .capture(hand: hand)
        case .captured(let hands):
            if let camera { return .camera(camera) }
            return enteringCard ? .card : .hands(captured: hands)
        case .paymentChosen: return .upload(confirmed: 0, total: 0)
        case .uploading(let confirmed, let total): return .upload(confirmed: confirmed, total: total)
        case .pendingStoreMatch, .complete, .expired, .deleted: return .status
        case .failed(let failure):
            return .failed(reason: failure.reason, message: failure.message, retryable: failure.retryable)
        }
    }

    /// Screens whose pixels must not reach a screenshot, a recording or the app switcher.
    public var isSensitive: Bool {
        switch self {
        case .capture, .card: true
        default: false
        }
    }
}

/// The live guidance of the capture screen.
public struct LiveGuidance: Equatable, Sendable {
    public var instruction: GuidanceCode
    /// Localization key (`guidance.move_closer`) and the English text.
    public var messageKey: String
    public var message: String
    /// Every check passes: draw the outline green.
    public var ready: Bool
    /// The palm's box in upright frame pixels (left, top, width, height), when a hand is in view.
    public var bounds: [Float]

    init(_ result: FrameAnalysis) {
        instruction = result.guidance
        messageKey = result.guidance.messageKey()
        message = result.guidance.english()
        ready = result.captureReady || result.captured
        bounds = result.hand?.bounds ?? []
    }
}

/// A short message for the shopper about a call that failed; never a secret or a card field.
func shopperMessage(for error: Error) -> String {
    switch error {
    case PalmKitError.Offline: return "No network. Check your connection and try again."
    case PalmKitError.ServiceUnavailable: return "The palm service is busy. Try again in a moment."
    case PalmKitError.UntrustedServer:
        return "This network is not safe for enrollment. Use another network."
    case PalmKitError.InvalidCard(let reason): return reason
    case PalmKitError.CardDeclined: return "The card was declined. Try another card."
    case PalmKitError.LoginCancelled: return "Login cancelled."
    case PalmKitError.LoginFailed: return "Login did not complete. Try again."
    case PalmKitError.SignInRequired: return "Please log in again."
    case PalmKitError.Cancelled: return "Paused. Your photos are still here, ready to send."
    case PalmKitError.ModelUnavailable: return "The app is damaged: reinstall it."
    case let error as CameraFrameError: return "Camera problem: \(error)"
    default: return "Something went wrong. Try again."
    }
}
