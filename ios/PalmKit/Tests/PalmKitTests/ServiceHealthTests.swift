import Foundation
import XCTest

@testable import PalmKit

/// The generated Swift bindings against a real `palmkit serve` on 127.0.0.1, started by
/// `cargo xtask test-swift`, which passes its client configuration in PALMKIT_TEST_CONFIG
/// and another data directory's CA certificate in PALMKIT_TEST_OTHER_CA.
final class ServiceHealthTests: XCTestCase {
    func testHealthCheckPassesOverPinnedTls() async throws {
        let config = try TestEnv.config()
        let session = try EnrollmentSession(config: config, store: FakeSecureStore())
        let health = try await session.health()
        XCTAssertEqual(health.status, "ok")
        XCTAssertEqual(health.currentKeyId, config.serviceKey.id)
        XCTAssertEqual(health.version, coreVersion())
    }

    func testAnotherCaIsRefusedAsUntrusted() async throws {
        var config = try TestEnv.config()
        config.trust.caPem = try String(contentsOfFile: try TestEnv.env("PALMKIT_TEST_OTHER_CA"), encoding: .utf8)
        let session = try EnrollmentSession(config: config, store: FakeSecureStore())
        do {
            _ = try await session.health()
            XCTFail("a client pinned to another CA reached the server")
        } catch PalmKitError.UntrustedServer(let reason) {
            XCTAssertTrue(reason.contains("not issued by the pinned CA"), reason)
        }
    }

    func testWrongSpkiPinIsRefusedAsUntrusted() async throws {
        var config = try TestEnv.config()
        config.trust.spkiSha256 = [Data(count: 32).base64EncodedString()]
        let session = try EnrollmentSession(config: config, store: FakeSecureStore())
        do {
            _ = try await session.health()
            XCTFail("a client with a wrong SPKI pin reached the server")
        } catch PalmKitError.UntrustedServer(let reason) {
            XCTAssertTrue(reason.contains("pinned public key"), reason)
        }
    }

    func testUnpinnedConfigIsRefusedBeforeAnyRequest() throws {
        var config = try TestEnv.config()
        config.trust.caPem = nil
        config.trust.spkiSha256 = []
        XCTAssertThrowsError(try EnrollmentSession(config: config, store: FakeSecureStore())) { error in
            guard case PalmKitError.InvalidConfig = error else {
                return XCTFail("expected InvalidConfig, got \(error)")
            }
        }
    }
}
