// Upload attestation with App Attest. The key is made and attested once (its id kept in the
// keychain); every upload then gets an assertion over the service's 32-byte challenge (a
// nonce bound to the sealed envelope's hash), used as the client data hash.
//
// Token: the bytes of a JSON object {"key_id", "attestation" (first use only, base64url),
// "assertion" (base64url)}, format "apple-app-attest-v1". The reference server does not verify Apple's formats yet (it
// cannot reach Apple): in production mode it refuses them, in development mode it needs none.

#if canImport(DeviceCheck)
import DeviceCheck
import Foundation
import PalmKit

public final class AppAttestor: Attestor, @unchecked Sendable {
    private let keychain: KeychainSecureStore
    private let lock = NSLock()
    private static let keyIdKey = "app-attest.key-id"

    public init(keychain: KeychainSecureStore = KeychainSecureStore(service: "com.palmkit.app.attest")) {
        self.keychain = keychain
    }

    /// Called by the core on an upload thread; blocks on App Attest's completion handlers.
    public func attest(challenge: Data) throws -> AttestationToken {
        let service = DCAppAttestService.shared
        guard service.isSupported else {
            throw AttestationError.Unavailable(reason: "App Attest is not supported on this device")
        }
        guard challenge.count == 32 else {
            throw AttestationError.Failed(reason: "challenge of \(challenge.count) bytes, not 32")
        }
        return try lock.withLock {
            var attestation: Data?
            let keyId: String
            if let saved = try? keychain.load(key: Self.keyIdKey) {
                keyId = saved
            } else {
                keyId = try wait { service.generateKey(completionHandler: $0) }
                attestation = try wait { service.attestKey(keyId, clientDataHash: challenge, completionHandler: $0) }
                try keychain.save(key: Self.keyIdKey, secret: keyId)
            }
            let assertion = try wait { service.generateAssertion(keyId, clientDataHash: challenge, completionHandler: $0) }
            var body: [String: String] = ["key_id": keyId, "assertion": assertion.base64URL]
            if let attestation { body["attestation"] = attestation.base64URL }
            let json = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
            return AttestationToken(format: "apple-app-attest-v1", token: json)
        }
    }

    /// Waits for a completion-handler API on this (non-main) thread.
    private func wait<T>(_ call: (@escaping (T?, Error?) -> Void) -> Void) throws -> T {
        let done = DispatchSemaphore(value: 0)
        var value: T?
        var failure: Error?
        call { v, e in
            value = v
            failure = e
            done.signal()
        }
        done.wait()
        if let value { return value }
        throw AttestationError.Failed(reason: failure.map { String(describing: $0) } ?? "no answer")
    }
}

extension Data {
    var base64URL: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
#endif
