import Foundation
import PalmKit
import XCTest

@testable import PalmKitApp

/// The app's flow model through the generated bindings against a real `palmkit serve`, with
/// the platform services faked (Fakes.swift).
@MainActor
final class EnrollmentFlowTests: XCTestCase, @unchecked Sendable {
    struct Parts {
        var keychain = FakeKeychain()
        var camera = FakeCameraPermission(.granted)
        var frames = FakeFrameSource()
        var login = FakeLoginSheet()
        var announcer = FakeAnnouncer()
        var haptics = FakeHaptics()
        var clock = FakeClock()
    }

    func makeFlow(_ parts: Parts, attachCamera: Bool = true) throws -> EnrollmentFlow {
        let clock = parts.clock
        let platform = Platform(
            store: parts.keychain, appAttest: nil, camera: parts.camera, login: parts.login,
            announcer: parts.announcer, haptics: parts.haptics, clock: { clock.now })
        let flow = try EnrollmentFlow(
            configJSON: try AppTestEnv.configJSON(), modelsDir: try AppTestEnv.env("PALMKIT_TEST_MODELS"),
            platform: platform)
        if attachCamera { flow.attach(camera: parts.frames) }
        // The photo is a still picture: the liveness layers report but do not gate here
        // (a development-build switch; the phone library has no such call).
        flow.session.setLivenessPolicy(policy: .reportOnly)
        return flow
    }

    /// Waits (yielding to the main actor) until `condition` holds, up to `seconds`.
    func until(_ what: String, seconds: Double = 10, _ condition: () -> Bool) async throws {
        let end = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > end { return XCTFail("timed out waiting for \(what)") }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
    }

    /// Signed in and consented.
    func consented(_ parts: Parts, attachCamera: Bool = true) async throws -> EnrollmentFlow {
        let flow = try makeFlow(parts, attachCamera: attachCamera)
        await flow.start()
        await flow.login()
        await flow.giveConsent()
        XCTAssertEqual(flow.screen, .hands(captured: []), flow.notice ?? "")
        return flow
    }

    func testAWholeEnrollmentFromCameraFramesAndARelaunch() async throws {
        let parts = Parts()
        let flow = try makeFlow(parts)
        XCTAssertEqual(flow.screen, .starting)
        await flow.start()
        XCTAssertEqual(flow.screen, .login)

        // Consent gates the camera: not even the permission is asked before it.
        await flow.startCapture(hand: .left)
        XCTAssertEqual(flow.notice, "Give your consent first.")
        await flow.login()
        XCTAssertEqual(flow.screen, .consent, flow.notice ?? "")
        await flow.startCapture(hand: .left)
        XCTAssertEqual(parts.camera.requests, 0)
        XCTAssertEqual(flow.screen, .consent)
        await flow.giveConsent()
        XCTAssertEqual(flow.screen, .hands(captured: []))

        await flow.startCapture(hand: .left)
        XCTAssertEqual(flow.screen, .capture(hand: .left))
        XCTAssertEqual(parts.frames.startCount, 1)
        XCTAssertTrue(flow.screen.isSensitive)

        // Frames as the camera queue hands them: NV12 planes with padded rows, sensor
        // landscape, rotation 90.
        let nv12 = try AppTestEnv.nv12Frame()
        var analyzed = 0
        var clockMs: UInt64 = 1_000
        for _ in 0..<40 where parts.frames.isRunning {
            let result = nv12.withFrame(at: clockMs) { flow.analyze($0) }
            XCTAssertNotNil(result, flow.notice ?? "dropped")
            analyzed += 1
            clockMs += 100
            parts.clock.advance(100)
            try await Task.sleep(nanoseconds: 1_000_000)
        }
        try await until("the capture") { flow.screen == .hands(captured: [.left]) }
        XCTAssertEqual(flow.snapshot.left, .captured)
        XCTAssertFalse(parts.frames.isRunning, "the camera still runs after the capture")
        XCTAssertEqual(parts.haptics.ticks, 1)
        XCTAssertEqual(flow.guidance?.instruction, .captured)
        // Spoken: each change, rate-limited, the capture last.
        XCTAssertGreaterThan(parts.announcer.spoken.count, 0)
        XCTAssertLessThan(parts.announcer.spoken.count, analyzed)
        XCTAssertEqual(parts.announcer.spoken.last, flow.guidance?.message)
        // After the capture the gate turns frames away.
        XCTAssertNil(nv12.withFrame(at: clockMs) { flow.analyze($0) })

        flow.enterCard()
        XCTAssertEqual(flow.screen, .card)
        XCTAssertTrue(flow.screen.isSensitive)
        await flow.addCard(CardInput(
            number: "4242424242424242", expMonth: 12, expYear: 2040, cvc: "123", cardholderName: "Test Shopper"))
        XCTAssertEqual(flow.screen, .upload(confirmed: 0, total: 0), flow.notice ?? "")
        // The card number went to the service, not to the keychain's saved progress.
        XCTAssertFalse(parts.keychain.values.contains { $0.contains("4242424242424242") })

        let events = flow.events()
        await flow.upload()
        XCTAssertEqual(flow.snapshot.state, .pendingStoreMatch, flow.notice ?? "")
        XCTAssertEqual(flow.screen, .status)
        XCTAssertEqual(flow.snapshot.left, .pendingMatch)
        var sawProgress = false
        for await event in events {
            if case .progress(let confirmed, let total) = event, confirmed == total, total > 0 { sawProgress = true }
            if case .snapshot(let s) = event, s.state == .pendingStoreMatch { break }
        }
        XCTAssertTrue(sawProgress, "no upload progress reached the flow's events")

        // The app is killed and relaunched: the keychain's progress brings it back.
        let relaunched = try makeFlow(Parts(keychain: parts.keychain))
        await relaunched.start()
        XCTAssertEqual(relaunched.snapshot.state, .pendingStoreMatch)
        XCTAssertEqual(relaunched.snapshot.enrollmentId, flow.snapshot.enrollmentId)
        XCTAssertEqual(relaunched.screen, .status)

        await relaunched.delete()
        XCTAssertEqual(relaunched.snapshot.state, .deleted, relaunched.notice ?? "")
        relaunched.enrollAgain()
        XCTAssertEqual(relaunched.screen, .hands(captured: []))
    }

    func testClosingTheLoginSheetOrCancellingAtThePageStaysSignedOut() async throws {
        for behaviour in [FakeLoginSheet.Behaviour.closeSheet, .cancelAtPage] {
            var parts = Parts()
            parts.login.behaviour = behaviour
            let flow = try makeFlow(parts)
            await flow.start()
            await flow.login()
            XCTAssertEqual(flow.screen, .login, "\(behaviour)")
            XCTAssertEqual(flow.notice, "Login cancelled.", "\(behaviour)")
            XCTAssertFalse(flow.busy)
        }
    }

    func testARefusedCameraShowsTheSettingsScreenAndCapturesNothing() async throws {
        let parts = Parts(camera: FakeCameraPermission(.denied))
        let flow = try await consented(parts)
        await flow.startCapture(hand: nil)
        XCTAssertEqual(flow.screen, .camera(.denied))
        XCTAssertEqual(flow.snapshot.state, .consentGiven)
        XCTAssertEqual(parts.frames.startCount, 0)
        flow.dismissCameraProblem()
        XCTAssertEqual(flow.screen, .hands(captured: []))
    }

    func testACameraInUseIsReportedAndTheCaptureStops() async throws {
        let parts = Parts(frames: FakeFrameSource(inUse: true))
        let flow = try await consented(parts)
        await flow.startCapture(hand: .right)
        guard case .camera(.unavailable(let why)) = flow.screen else {
            return XCTFail("screen \(flow.screen)")
        }
        XCTAssertTrue(why.contains("in use"), why)
        XCTAssertEqual(flow.snapshot.state, .consentGiven)
        try AppTestEnv.nv12Frame().withFrame(at: 1) { XCTAssertNil(flow.analyze($0)) }
    }

    /// The app's real order: the capture screen appears after the capture starts and hands
    /// its camera over then.
    func testACameraAttachedByTheCaptureScreenStartsOrReportsItsFailure() async throws {
        let parts = Parts()
        let flow = try await consented(parts, attachCamera: false)
        await flow.startCapture(hand: .left)
        XCTAssertEqual(flow.screen, .capture(hand: .left))
        flow.attach(camera: parts.frames)
        XCTAssertTrue(parts.frames.isRunning)

        let broken = FakeFrameSource(inUse: true)
        flow.cancelCapture()
        await flow.startCapture(hand: .left)
        flow.attach(camera: broken)
        XCTAssertEqual(flow.screen, .camera(.unavailable("the camera is in use by another app")))
        XCTAssertEqual(flow.snapshot.state, .consentGiven)
        // Taken by another app mid-capture (AVCaptureSession interruption).
        flow.dismissCameraProblem()
        flow.attach(camera: parts.frames)
        await flow.startCapture(hand: .left)
        flow.cameraFailed("the camera is in use by another app")
        XCTAssertFalse(parts.frames.isRunning)
        XCTAssertEqual(flow.screen, .camera(.unavailable("the camera is in use by another app")))
    }

    func testBackgroundingMidCaptureStopsTheCameraAndResumesOnReturn() async throws {
        let parts = Parts()
        let flow = try await consented(parts)
        await flow.startCapture(hand: .left)
        XCTAssertTrue(parts.frames.isRunning)
        flow.didEnterBackground()
        XCTAssertFalse(parts.frames.isRunning)
        XCTAssertEqual(flow.snapshot.state, .consentGiven)
        try AppTestEnv.nv12Frame().withFrame(at: 1) { XCTAssertNil(flow.analyze($0), "a frame got in while backgrounded") }
        await flow.willEnterForeground()
        XCTAssertEqual(flow.screen, .capture(hand: .left))
        XCTAssertEqual(parts.frames.startCount, 2)
    }

    func testAnUploadCancelledMidwayResumesAndBackgroundingPausesIt() async throws {
        let parts = Parts()
        let flow = try await consented(parts)
        let photo = try Data(contentsOf: URL(fileURLWithPath: try AppTestEnv.env("PALMKIT_TEST_IMAGE")))
        _ = try flow.session.startHand(hand: .left)
        _ = try flow.session.addCaptureFile(hand: .left, image: photo)
        flow.sync()
        flow.enterCard()
        await flow.addCard(CardInput(
            number: "4242424242424242", expMonth: 12, expYear: 2040, cvc: "123", cardholderName: "Test Shopper"))
        XCTAssertEqual(flow.screen, .upload(confirmed: 0, total: 0), flow.notice ?? "")

        // Cancel at the first progress: the upload pauses, the photo stays held.
        let events = flow.events()
        let watcher = Task { @MainActor in
            for await event in events {
                if case .progress = event {
                    flow.cancelUpload()
                    return
                }
            }
        }
        await flow.upload()
        await watcher.value
        XCTAssertEqual(flow.snapshot.state, .paymentChosen)
        XCTAssertEqual(flow.snapshot.left, .captured)
        XCTAssertEqual(flow.notice, "Paused. Your photos are still here, ready to send.")

        // Backgrounded mid-upload: paused, then resumed in the foreground to the end.
        let second = flow.events()
        let backgrounder = Task { @MainActor in
            for await event in second {
                if case .snapshot(let s) = event, case .uploading = s.state {
                    flow.didEnterBackground()
                    return
                }
            }
        }
        await flow.upload()
        await backgrounder.value
        XCTAssertEqual(flow.snapshot.state, .paymentChosen)
        await flow.willEnterForeground()
        XCTAssertEqual(flow.snapshot.state, .pendingStoreMatch, flow.notice ?? "")
        XCTAssertNil(flow.notice)
    }
}
