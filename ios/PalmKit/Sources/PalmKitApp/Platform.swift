// The platform services the flow needs, each behind a protocol so the flow model runs and is
// tested on Linux. PalmKitUI implements them with Apple's frameworks (AVFoundation,
// ASWebAuthenticationSession, App Attest, the keychain, VoiceOver, UIKit haptics); the
// tests implement them with fakes named as fakes.

import Foundation
import PalmKit

/// Whether the app may use the camera.
public enum CameraAccess: Sendable, Equatable {
    /// Allowed.
    case granted
    /// Refused by the shopper, or restricted (parental controls, MDM): only Settings helps.
    case denied
}

/// The camera permission prompt (`AVCaptureDevice.requestAccess(for: .video)`).
public protocol CameraPermission: Sendable {
    /// Asks when not asked yet; answers at once afterwards.
    func request() async -> CameraAccess
}

/// The running camera. The flow starts it for a capture and stops it when the capture ends
/// or the app leaves the foreground; frames arrive through `EnrollmentFlow.analyze(_:)`.
public protocol FrameSource: AnyObject, Sendable {
    /// Starts delivering frames; throws when the camera cannot be opened (in use, missing).
    func start() throws
    /// Stops delivering frames; harmless when stopped.
    func stop()
}

/// Why the login page did not hand back a redirect.
public enum LoginPresentationError: Error, Equatable, Sendable {
    /// The shopper closed the page.
    case cancelled
    /// The page could not be shown (no window, another login showing).
    case unavailable(String)
}

/// Shows the service's login page in the system browser sheet and returns the redirect URL
/// (`ASWebAuthenticationSession` with `prefersEphemeralWebBrowserSession`).
public protocol LoginPresenter: Sendable {
    /// Shows `url`; returns the redirect to `callbackScheme:` once the shopper logged in.
    func present(url: URL, callbackScheme: String) async throws -> URL
}

/// Spoken feedback (VoiceOver announcements). Called on the main actor.
public protocol Announcer: Sendable {
    /// Speaks `text` if an assistive technology is running.
    func announce(_ text: String)
}

/// Touch feedback. Called on the main actor.
public protocol Haptics: Sendable {
    /// One firm tick: a hand was captured.
    func captured()
}

/// Every platform service the flow uses, handed over once at start.
public struct Platform: Sendable {
    /// Keychain storage for the tokens and the non-biometric progress.
    public var store: any SecureStore
    /// App Attest's two DeviceCheck calls, or nil where the device has none (the service
    /// then refuses uploads in production mode; the flow shows that error). The key id,
    /// the token and the re-attest are the core's.
    public var appAttest: (any AppAttestDevice)?
    public var camera: any CameraPermission
    public var login: any LoginPresenter
    public var announcer: any Announcer
    public var haptics: any Haptics
    /// A monotonic clock in milliseconds (announcement rate limits, frame timestamps).
    public var clock: @Sendable () -> UInt64

    public init(
        store: any SecureStore, appAttest: (any AppAttestDevice)?, camera: any CameraPermission,
        login: any LoginPresenter, announcer: any Announcer, haptics: any Haptics,
        clock: @escaping @Sendable () -> UInt64 = Platform.monotonicMs
    ) {
        self.store = store
        self.appAttest = appAttest
        self.camera = camera
        self.login = login
        self.announcer = announcer
        self.haptics = haptics
        self.clock = clock
    }

    /// Milliseconds since an arbitrary start, never going back.
    public static let monotonicMs: @Sendable () -> UInt64 = {
        DispatchTime.now().uptimeNanoseconds / 1_000_000
    }
}
