import Foundation
import XCTest

@testable import PalmKit

/// A fake of DeviceCheck's App Attest (the app's AppAttestor): its two calls made by
/// `palmkit attestation test-app-attest` under the test server's attestation root, the key
/// kept in a state file, so the service verifies them as a device's. The key id, the token
/// and the re-attest are the core's (AppAttestFlow).
final class FakeAppAttestDevice: AppAttestDevice, @unchecked Sendable {
    private let state = FileManager.default.temporaryDirectory
        .appendingPathComponent("palmkit-app-attest-\(UUID().uuidString).json").path
    private let lock = NSLock()
    private var keys = 0
    var keysMade: Int { lock.withLock { keys } }

    private func cli(_ action: String, _ clientDataHash: Data) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestEnv.env("PALMKIT_CLI"))
        process.arguments = [
            "attestation", "test-app-attest", "--root", try TestEnv.env("PALMKIT_TEST_ATTESTATION_ROOT"),
            "--state", state, "--app-id", "ABCDE12345.com.palmkit.app",
            "--client-data-hash", clientDataHash.map { String(format: "%02x", $0) }.joined(), action,
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw AttestationError.Failed(reason: "test-app-attest \(action) failed") }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func attestNewKey(clientDataHash: Data) throws -> AttestedKey {
        let out = try cli("new-key", clientDataHash)
        guard let json = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: String],
            let keyId = json["key_id"], let b64 = json["attestation"], let attestation = Data(base64Encoded: b64)
        else { throw AttestationError.Failed(reason: "unreadable test-app-attest output") }
        lock.withLock { keys += 1 }
        return AttestedKey(keyId: keyId, attestation: attestation)
    }

    func generateAssertion(keyId: String, clientDataHash: Data) throws -> Data {
        guard let assertion = Data(base64Encoded: try cli("assert", clientDataHash)) else {
            throw AttestationError.Failed(reason: "unreadable assertion")
        }
        return assertion
    }
}
