// The app's scene: makes the platform services and the flow once, shows the screen the flow
// names, passes the app's lifecycle to it, and keeps sensitive screens out of screenshots'
// reach: hidden while the screen is recorded or mirrored, blurred in the app switcher.

#if canImport(SwiftUI) && canImport(UIKit)
import PalmKit
import PalmKitApp
import SwiftUI
import UIKit

public struct PalmKitScene: Scene {
    @State private var flow: EnrollmentFlow?
    @State private var startupError: String?
    @Environment(\.scenePhase) private var phase

    public init() {}

    public var body: some Scene {
        WindowGroup {
            Group {
                if let flow {
                    RootView(flow: flow)
                        .privacyShield(sensitive: flow.screen.isSensitive, phase: phase)
                        .onChange(of: phase) { _, now in
                            switch now {
                            case .background: flow.didEnterBackground()
                            case .active: Task { await flow.willEnterForeground() }
                            default: break
                            }
                        }
                } else if let startupError {
                    ContentUnavailableView("PalmKit cannot start", systemImage: "exclamationmark.triangle",
                        description: Text(startupError))
                } else {
                    ProgressView().task { await makeFlow() }
                }
            }
        }
    }

    /// The bundle carries the service configuration (`client-config.json`) and the models.
    @MainActor private func makeFlow() async {
        do {
            try? initPlatform(level: .info, sink: OSLogSink())
            guard let config = Bundle.main.url(forResource: "client-config", withExtension: "json"),
                let models = Bundle.main.url(forResource: "models", withExtension: nil)
            else { throw CameraError("the app bundle lacks client-config.json or models/") }
            let keychain = KeychainSecureStore()
            let platform = Platform(
                store: keychain, appAttest: AppAttestor(), camera: SystemCameraPermission(),
                login: WebAuthLoginPresenter(), announcer: VoiceOverAnnouncer(), haptics: UIKitHaptics())
            let made = try EnrollmentFlow(
                configJSON: try String(contentsOf: config, encoding: .utf8), modelsDir: models.path,
                platform: platform)
            await made.start()
            flow = made
        } catch {
            startupError = String(describing: error)
        }
    }
}

/// Hides a sensitive screen while the screen is captured (recording, AirPlay mirroring) and
/// covers every screen when the app is not active, so the app switcher's snapshot is blurred.
struct PrivacyShield: ViewModifier {
    let sensitive: Bool
    let phase: ScenePhase
    @State private var captured = UIScreen.main.isCaptured

    func body(content: Content) -> some View {
        content
            .opacity(sensitive && captured ? 0 : 1)
            .overlay {
                if sensitive && captured {
                    Text("Hidden while the screen is recorded or mirrored.")
                        .multilineTextAlignment(.center).padding()
                }
            }
            .overlay {
                if phase != .active {
                    Rectangle().fill(.ultraThinMaterial).ignoresSafeArea()
                }
            }
            .onReceive(NotificationCenter.default.publisher(for: UIScreen.capturedDidChangeNotification)) { _ in
                captured = UIScreen.main.isCaptured
            }
    }
}

extension View {
    func privacyShield(sensitive: Bool, phase: ScenePhase) -> some View {
        modifier(PrivacyShield(sensitive: sensitive, phase: phase))
    }
}
#endif
