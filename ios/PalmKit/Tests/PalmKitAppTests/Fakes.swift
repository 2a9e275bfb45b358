// Fakes of the platform services for the flow tests on Linux, named as fakes. The app
// implements the same protocols with the keychain, AVFoundation, ASWebAuthenticationSession,
// VoiceOver and UIKit haptics (Sources/PalmKitUI).

import Foundation
import PalmKit
import PalmKitApp
import XCTest

/// An in-memory keychain; a relaunched app gets the same instance.
final class FakeKeychain: SecureStore, @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: String] = [:]
    var keys: [String] { lock.withLock { Array(entries.keys) } }
    var values: [String] { lock.withLock { Array(entries.values) } }
    func load(key: String) throws -> String? { lock.withLock { entries[key] } }
    func save(key: String, secret: String) throws { lock.withLock { entries[key] = secret } }
    func delete(key: String) throws { lock.withLock { _ = entries.removeValue(forKey: key) } }
}

/// The camera permission prompt, answered as told; counts the prompts.
final class FakeCameraPermission: CameraPermission, @unchecked Sendable {
    private let lock = NSLock()
    private let answer: CameraAccess
    private var asked = 0
    var requests: Int { lock.withLock { asked } }
    init(_ answer: CameraAccess) { self.answer = answer }
    func request() async -> CameraAccess {
        lock.withLock { asked += 1 }
        return answer
    }
}

/// A camera that records being started and stopped, or refuses to open as if in use.
final class FakeFrameSource: FrameSource, @unchecked Sendable {
    private let lock = NSLock()
    private var starts = 0
    private var running = false
    private let inUse: Bool
    var startCount: Int { lock.withLock { starts } }
    var isRunning: Bool { lock.withLock { running } }
    init(inUse: Bool = false) { self.inUse = inUse }
    struct InUse: Error, CustomStringConvertible {
        var description: String { "the camera is in use by another app" }
    }
    func start() throws {
        if inUse { throw InUse() }
        lock.withLock {
            starts += 1
            running = true
        }
    }
    func stop() { lock.withLock { running = false } }
}

/// The login sheet: plays the shopper at the real login page with `palmkit approve-login`
/// (or presses Cancel there), or closes the sheet.
struct FakeLoginSheet: LoginPresenter {
    enum Behaviour: Sendable { case logIn, cancelAtPage, closeSheet }
    var behaviour: Behaviour = .logIn
    func present(url: URL, callbackScheme: String) async throws -> URL {
        if behaviour == .closeSheet { throw LoginPresentationError.cancelled }
        let redirect = try AppTestEnv.browser(url.absoluteString, cancel: behaviour == .cancelAtPage)
        guard let back = URL(string: redirect), back.scheme == callbackScheme else {
            throw LoginPresentationError.unavailable("redirect \(redirect) is not to \(callbackScheme)")
        }
        return back
    }
}

/// VoiceOver: records what would have been spoken.
final class FakeAnnouncer: Announcer, @unchecked Sendable {
    private let lock = NSLock()
    private var said: [String] = []
    var spoken: [String] { lock.withLock { said } }
    func announce(_ text: String) { lock.withLock { said.append(text) } }
}

/// The haptic engine: counts capture ticks.
final class FakeHaptics: Haptics, @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    var ticks: Int { lock.withLock { n } }
    func captured() { lock.withLock { n += 1 } }
}

/// A clock the test moves.
final class FakeClock: @unchecked Sendable {
    private let lock = NSLock()
    private var ms: UInt64 = 10_000
    var now: UInt64 { lock.withLock { ms } }
    func advance(_ by: UInt64) { lock.withLock { ms += by } }
}
