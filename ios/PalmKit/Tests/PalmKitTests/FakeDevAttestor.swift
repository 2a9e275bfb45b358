import Foundation
import XCTest

@testable import PalmKit

/// A fake of the platform attestor (the app calls App Attest): signs each challenge in the
/// reference server's development format with its development key, and records the
/// challenges it was asked to sign.
final class FakeDevAttestor: Attestor, @unchecked Sendable {
    private let key: Data
    private let lock = NSLock()
    private var seen: [Data] = []
    var challenges: [Data] { lock.withLock { seen } }

    init() throws {
        let text = try String(contentsOfFile: try TestEnv.env("PALMKIT_TEST_DEV_ATTESTATION_KEY"), encoding: .utf8)
        // base64url without padding → standard base64 with padding.
        var b64 = text.trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        guard let key = Data(base64Encoded: b64) else { throw XCTSkip("unreadable development key") }
        self.key = key
    }

    func attest(challenge: Data) throws -> Attestation {
        lock.withLock { seen.append(challenge) }
        return Attestation(format: "palmkit-dev-v1", token: try devAttestationToken(key: key, challenge: challenge))
    }
}

/// A fake device without attestation hardware.
final class FakeUnattestableDevice: Attestor, @unchecked Sendable {
    func attest(challenge: Data) throws -> Attestation {
        throw AttestationError.Unavailable(reason: "no Secure Enclave on this device")
    }
}
