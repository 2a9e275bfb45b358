// The small platform services: the camera permission prompt, VoiceOver announcements, the
// capture haptic, the login sheet, and the core's logs in the unified log.

#if canImport(UIKit) && canImport(AVFoundation) && canImport(AuthenticationServices)
import AVFoundation
import AuthenticationServices
import PalmKit
import PalmKitApp
import UIKit
import os

public struct SystemCameraPermission: CameraPermission {
    public init() {}
    public func request() async -> CameraAccess {
        switch AVCaptureDevice.authorizationStatus(for: .video) {
        case .authorized: return .granted
        case .notDetermined:
            return await AVCaptureDevice.requestAccess(for: .video) ? .granted : .denied
        default: return .denied
        }
    }
}

public struct VoiceOverAnnouncer: Announcer {
    public init() {}
    public func announce(_ text: String) {
        guard UIAccessibility.isVoiceOverRunning else { return }
        UIAccessibility.post(notification: .announcement, argument: text)
    }
}

public struct UIKitHaptics: Haptics {
    public init() {}
    public func captured() {
        Task { @MainActor in UIImpactFeedbackGenerator(style: .rigid).impactOccurred() }
    }
}

/// The login page in ASWebAuthenticationSession: an ephemeral browser session (no cookies
/// shared with Safari), returning to the app's private-use redirect scheme.
public final class WebAuthLoginPresenter: NSObject, LoginPresenter, ASWebAuthenticationPresentationContextProviding,
    @unchecked Sendable
{
    public override init() {}

    @MainActor
    public func present(url: URL, callbackScheme: String) async throws -> URL {
        try await withCheckedThrowingContinuation { continuation in
            let session = ASWebAuthenticationSession(url: url, callbackURLScheme: callbackScheme) { redirect, error in
                if let redirect {
                    continuation.resume(returning: redirect)
                } else if let error = error as? ASWebAuthenticationSessionError, error.code == .canceledLogin {
                    continuation.resume(throwing: LoginPresentationError.cancelled)
                } else {
                    continuation.resume(throwing: LoginPresentationError.unavailable(
                        error.map { String(describing: $0) } ?? "no redirect"))
                }
            }
            session.prefersEphemeralWebBrowserSession = true
            session.presentationContextProvider = self
            if !session.start() {
                continuation.resume(throwing: LoginPresentationError.unavailable("the login sheet could not open"))
            }
        }
    }

    public func presentationAnchor(for session: ASWebAuthenticationSession) -> ASPresentationAnchor {
        MainActor.assumeIsolated {
            UIApplication.shared.connectedScenes.compactMap { ($0 as? UIWindowScene)?.keyWindow }.first
                ?? ASPresentationAnchor()
        }
    }
}

/// The core's log events in the unified log (Console.app), subsystem com.palmkit.app.
/// The core logs no secret and no image; messages are still marked private by default.
public final class OSLogSink: LogSink, @unchecked Sendable {
    private let logger = Logger(subsystem: "com.palmkit.app", category: "core")
    public init() {}
    public func log(level: LogLevel, target: String, message: String) {
        switch level {
        case .error: logger.error("\(target, privacy: .public): \(message)")
        case .warn: logger.warning("\(target, privacy: .public): \(message)")
        case .info: logger.info("\(target, privacy: .public): \(message)")
        case .debug, .trace: logger.debug("\(target, privacy: .public): \(message)")
        }
    }
}
#endif
