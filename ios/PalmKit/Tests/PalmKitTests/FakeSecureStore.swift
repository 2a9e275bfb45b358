import Foundation

@testable import PalmKit

/// A fake of the platform secure storage for desktop tests: in memory, guarded by a lock
/// (the generated protocol is Sendable; the core calls it from its own threads). The app
/// implements SecureStore over the keychain instead.
final class FakeSecureStore: SecureStore, @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: String] = [:]

    var count: Int { lock.withLock { entries.count } }

    func load(key: String) throws -> String? { lock.withLock { entries[key] } }

    func save(key: String, secret: String) throws { lock.withLock { entries[key] = secret } }

    func delete(key: String) throws { lock.withLock { _ = entries.removeValue(forKey: key) } }
}
