// The app's flow model: one `@Observable` object the SwiftUI screens read and call, over the
// core's `EnrollmentSession`. It holds no business rule of its own — the session decides
// every transition — only what a shell must: which screen, the camera and its back-pressure,
// spoken guidance, haptics, and what to do when the app leaves the foreground.

import Foundation
import Observation
import PalmKit

/// Something the screens (and tests) can await instead of polling the observable state.
public enum FlowEvent: Sendable, Equatable {
    /// The session's state or a hand's status changed.
    case snapshot(SessionSnapshot)
    /// A frame's guidance (every analyzed frame).
    case guidance(LiveGuidance)
    /// Sealed bytes confirmed of all.
    case progress(confirmed: UInt64, total: UInt64)
}

@MainActor
@Observable
public final class EnrollmentFlow {
    /// The consent text's version recorded at the service (bump it with the text).
    public static let consentVersion = "biometric-2026-12"

    /// The core's session. Thread-safe: the camera queue calls `analyzeFrame` on it.
    /// Typed as the generated protocol, so a test may drive the flow with a fake session.
    public let session: any EnrollmentSessionProtocol
    /// The camera path's gate (back-pressure and counters).
    public let gate = FrameGate()

    public private(set) var snapshot: SessionSnapshot
    public private(set) var guidance: LiveGuidance?
    /// A message for the shopper about the last action (cleared by the next one).
    public private(set) var notice: String?
    /// A call to the service is running: disable the buttons that start another.
    public private(set) var busy = false

    private var restored = false
    private var cameraProblem: CameraProblem?
    private var enteringCard = false
    private var captureHand: Hand?
    /// Set when the app left the foreground mid-capture or mid-upload: resumed on return.
    private var interrupted: Interruption?
    private var throttle = AnnouncementThrottle()
    @ObservationIgnored private let platform: Platform
    @ObservationIgnored private weak var frameSource: (any FrameSource)?
    @ObservationIgnored private var continuations: [UUID: AsyncStream<FlowEvent>.Continuation] = [:]
    @ObservationIgnored private let callbackScheme: String

    private enum Interruption { case capture(Hand?), upload }

    /// The screen to show now.
    public var screen: Screen {
        Screen.of(snapshot.state, camera: cameraProblem, enteringCard: enteringCard, restored: restored)
    }

    /// Makes the session from the app's service configuration (the bundled
    /// `client-config.json`) and the hand models' folder in the bundle.
    public convenience init(configJSON: String, modelsDir: String, platform: Platform) throws {
        let session = try EnrollmentSession(config: try parseServiceConfig(json: configJSON), store: platform.store)
        try session.loadModels(modelsDir: modelsDir)
        try self.init(session: session, redirectUri: try parseServiceConfig(json: configJSON).redirectUri, platform: platform)
    }

    /// Drives an existing session (its models loaded by the caller); `redirectUri` is the
    /// service configuration's, whose private-use scheme the login sheet waits for.
    public init(session: any EnrollmentSessionProtocol, redirectUri: String, platform: Platform) throws {
        guard let scheme = URL(string: redirectUri)?.scheme, !scheme.hasPrefix("http") else {
            throw PalmKitError.InvalidConfig(reason: "redirect_uri \(redirectUri) has no private-use scheme")
        }
        self.session = session
        self.platform = platform
        self.snapshot = session.snapshot()
        self.callbackScheme = scheme
        if let appAttest = platform.appAttest {
            session.setAppAttest(device: appAttest, store: platform.store)
        } else {
            session.setAttestor(attestor: nil)
        }
        session.setListener(listener: ListenerBridge(self))
    }

    // MARK: Events

    /// Every snapshot change, guidance and progress from now on, in order, on the main actor.
    public func events() -> AsyncStream<FlowEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: FlowEvent.self, bufferingPolicy: .unbounded)
        let id = UUID()
        continuations[id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { @MainActor in self?.continuations[id] = nil }
        }
        return stream
    }

    private func emit(_ event: FlowEvent) {
        for continuation in continuations.values { continuation.yield(event) }
    }

    /// Reads the session's snapshot (the one truth; listener calls only say "it changed").
    func sync() {
        let fresh = session.snapshot()
        guard fresh != snapshot else { return }
        snapshot = fresh
        if case .capturing = fresh.state {} else { endCamera() }
        emit(.snapshot(fresh))
    }

    func progressed(confirmed: UInt64, total: UInt64) {
        emit(.progress(confirmed: confirmed, total: total))
        sync()
    }

    /// Attaches the camera the UI made (the capture screen makes it when it appears); the
    /// flow starts it now if a capture is running, and stops it when the capture ends.
    public func attach(camera: any FrameSource) {
        frameSource = camera
        if case .capturing = snapshot.state { startCamera() }
    }

    /// The camera failed or was taken by another app: the capture stops, the screen says why.
    public func cameraFailed(_ why: String) {
        endCamera()
        _ = try? session.cancelCapture()
        cameraProblem = .unavailable(why)
        sync()
    }

    private func startCamera() {
        do {
            try frameSource?.start()
        } catch {
            cameraFailed(String(describing: error))
        }
    }

    // MARK: Steps

    /// Restores the saved progress (app start): the screen the shopper left, the hands still
    /// to photograph, or the enrollment's latest status.
    public func start() async {
        await perform {
            // Every snapshot goes through sync(), so the events stream sees each change.
            if case .pendingStoreMatch = try await self.session.restore().state {
                _ = try await self.session.refresh()
            }
        }
        restored = true
        sync()
    }

    /// Opens the login page in the browser sheet and hands its redirect to the session.
    public func login() async {
        await perform {
            guard let url = URL(string: try await self.session.startLogin()) else {
                throw PalmKitError.LoginFailed(reason: "the login URL does not parse")
            }
            let redirect: URL
            do {
                redirect = try await self.platform.login.present(url: url, callbackScheme: self.callbackScheme)
            } catch LoginPresentationError.cancelled {
                throw PalmKitError.LoginCancelled
            }
            _ = try await self.session.finishLogin(redirectUrl: redirect.absoluteString)
        }
    }

    /// Records the shopper's consent to the text of `consentVersion`.
    public func giveConsent() async {
        await perform { _ = try await self.session.giveConsent(textVersion: Self.consentVersion) }
    }

    /// Asks for the camera (once), then starts guiding towards a capture of `hand`.
    /// Nothing happens before consent: the camera is not even asked for.
    public func startCapture(hand: Hand?) async {
        notice = nil
        switch snapshot.state {
        case .consentGiven, .captured: break
        case .capturing: return  // already running (a second tap)
        case .signedOut, .signedIn:
            notice = "Give your consent first."
            return
        default:
            notice = "Your palms are already on their way."
            return
        }
        enteringCard = false
        guard await platform.camera.request() == .granted else {
            cameraProblem = .denied
            return
        }
        cameraProblem = nil
        do {
            _ = try session.startHand(hand: hand)
        } catch {
            notice = shopperMessage(for: error)
            return sync()
        }
        captureHand = hand
        throttle.reset()
        guidance = nil
        gate.openGate()
        startCamera()
        sync()
    }

    /// Leaves the capture screen; hands already captured stay held.
    public func cancelCapture() {
        endCamera()
        _ = try? session.cancelCapture()
        sync()
    }

    /// Back from a camera problem to the choice of hands.
    public func dismissCameraProblem() {
        cameraProblem = nil
    }

    /// Analyzes one camera frame. Called on the camera's serial queue; a frame that arrives
    /// while another is analyzed, or when no capture runs, is dropped. Returns the result,
    /// or nil when dropped.
    @discardableResult
    nonisolated public func analyze(_ frame: BiPlanarFrame) -> FrameAnalysis? {
        guard gate.tryEnter() else { return nil }
        defer { gate.leave() }
        do {
            var (data, info) = try frame.packed()
            defer { data.resetBytes(in: 0..<data.count) }
            let result = try session.analyzeFrame(data: data, info: info)
            Task { @MainActor in self.analyzed(result) }
            return result
        } catch {
            Task { @MainActor in self.notice = shopperMessage(for: error) }
            return nil
        }
    }

    private func analyzed(_ result: FrameAnalysis) {
        let live = LiveGuidance(result)
        guidance = live
        emit(.guidance(live))
        if throttle.shouldAnnounce(result.guidance, atMs: platform.clock()) {
            platform.announcer.announce(result.guidance.english())
        }
        if result.captured {
            platform.haptics.captured()
            endCamera()
        }
        sync()
    }

    private func endCamera() {
        gate.close()
        frameSource?.stop()
    }

    /// Opens the card form (after at least one hand is captured).
    public func enterCard() {
        if case .captured = snapshot.state { enteringCard = true }
    }

    /// Back from the card form to the hands.
    public func leaveCard() {
        enteringCard = false
    }

    /// Adds the card and chooses it for the enrollment. The details go to the core and are
    /// never logged or kept here. A card the bank wants confirmed opens its page first.
    public func addCard(_ card: CardInput) async {
        await perform {
            let method: PaymentMethod
            switch try await self.session.addCard(card: card) {
            case .added(let added): method = added
            case .requiresAction(let page):
                guard let url = URL(string: page) else {
                    throw PalmKitError.Unexpected(reason: "the bank's page URL does not parse")
                }
                do {
                    _ = try await self.platform.login.present(url: url, callbackScheme: self.callbackScheme)
                } catch LoginPresentationError.cancelled {}
                method = try await self.session.resumeAddCard()
            }
            _ = try await self.session.choosePayment(paymentMethodId: method.id)
            self.enteringCard = false
        }
    }

    /// Seals and sends the captures; `cancelUpload()` pauses it (the captures stay held).
    public func upload() async {
        await perform { _ = try await self.session.upload() }
    }

    /// Pauses a running upload; `upload()` resumes it.
    public func cancelUpload() {
        _ = session.cancelUpload()
    }

    /// Learns whether the enrollment completed, expired or was deleted elsewhere.
    public func refresh() async {
        await perform { _ = try await self.session.refresh() }
    }

    /// Deletes the enrollment and its biometric data at the service.
    public func delete() async {
        await perform { _ = try await self.session.delete() }
    }

    /// A fresh enrollment after an expiry, a deletion or a failure.
    public func enrollAgain() {
        do { _ = try session.enrollAgain() } catch { notice = shopperMessage(for: error) }
        sync()
    }

    /// Revokes the tokens and forgets the progress on this phone.
    public func logout() async {
        await perform { _ = try await self.session.logout() }
    }

    /// Tries a failed step again the way its reason says.
    public func retry() async {
        guard case .failed(let failure) = snapshot.state else { return }
        switch failure.reason {
        case .captureTimedOut, .spoofSuspected: await startCapture(hand: captureHand)
        case .offline, .serviceUnavailable: await upload()
        default: enrollAgain()
        }
    }

    // MARK: App lifecycle

    /// The app left the foreground: stop the camera (a capture restarts on return) and pause
    /// an upload (it resumes from what the service confirmed).
    public func didEnterBackground() {
        switch snapshot.state {
        case .capturing(let hand):
            interrupted = .capture(hand)
            cancelCapture()
        case .uploading:
            interrupted = .upload
            cancelUpload()
        default: break
        }
    }

    /// Back in the foreground: resume what the background interrupted, else refresh a
    /// pending enrollment.
    public func willEnterForeground() async {
        let resume = interrupted
        interrupted = nil
        switch resume {
        case .capture(let hand): await startCapture(hand: hand)
        case .upload: await upload()
        case nil:
            if case .pendingStoreMatch = snapshot.state { await refresh() }
        }
    }

    // MARK: Plumbing

    /// Runs a service call with the busy flag up; a failure becomes the notice (a cancelled
    /// upload too: it says the photos are still held).
    private func perform(_ work: @escaping @MainActor () async throws -> Void) async {
        busy = true
        notice = nil
        defer {
            busy = false
            sync()
        }
        do {
            try await work()
        } catch {
            notice = shopperMessage(for: error)
        }
    }
}

/// Relays the session's listener calls (core threads) to the flow on the main actor. It
/// holds the flow weakly: the session must not keep the flow alive.
final class ListenerBridge: SessionListener, @unchecked Sendable {
    private weak var flow: EnrollmentFlow?

    init(_ flow: EnrollmentFlow) { self.flow = flow }

    func onStateChanged(snapshot: SessionSnapshot) {
        Task { @MainActor [weak flow] in flow?.sync() }
    }

    func onUploadProgress(confirmed: UInt64, total: UInt64) {
        Task { @MainActor [weak flow] in flow?.progressed(confirmed: confirmed, total: total) }
    }
}
