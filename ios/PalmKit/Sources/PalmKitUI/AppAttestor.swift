// Upload attestation with App Attest: the two DeviceCheck calls the core's AppAttestFlow
// needs. The flow (Rust, tested on Linux against the service's verifier) keeps the key id
// in the keychain, asks for a new attested key on first use or when the service no longer
// knows the key (`attestation_key_unknown`), asks for an assertion over every upload's
// 32-byte challenge (a nonce bound to the sealed envelope's hash), and builds the
// "apple-app-attest-v1" token. Nothing else lives here.

#if canImport(DeviceCheck)
import DeviceCheck
import Foundation
import PalmKit

public final class AppAttestor: AppAttestDevice, @unchecked Sendable {
    public init() {}

    /// `generateKey` then `attestKey` over the challenge; called on an upload thread.
    public func attestNewKey(clientDataHash: Data) throws -> AttestedKey {
        let service = try supported(clientDataHash)
        let keyId = try wait { service.generateKey(completionHandler: $0) }
        let attestation = try wait { service.attestKey(keyId, clientDataHash: clientDataHash, completionHandler: $0) }
        return AttestedKey(keyId: keyId, attestation: attestation)
    }

    /// `generateAssertion` over the challenge.
    public func generateAssertion(keyId: String, clientDataHash: Data) throws -> Data {
        let service = try supported(clientDataHash)
        return try wait { service.generateAssertion(keyId, clientDataHash: clientDataHash, completionHandler: $0) }
    }

    private func supported(_ clientDataHash: Data) throws -> DCAppAttestService {
        let service = DCAppAttestService.shared
        guard service.isSupported else {
            throw AttestationError.Unavailable(reason: "App Attest is not supported on this device")
        }
        guard clientDataHash.count == 32 else {
            throw AttestationError.Failed(reason: "challenge of \(clientDataHash.count) bytes, not 32")
        }
        return service
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
#endif
