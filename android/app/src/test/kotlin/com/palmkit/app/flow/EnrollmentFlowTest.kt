package com.palmkit.app.flow

import com.palmkit.core.CardInput
import com.palmkit.core.EnrollmentSession
import com.palmkit.core.model.Hand
import com.palmkit.core.model.HandStatus
import com.palmkit.core.model.LivenessPolicy
import com.palmkit.core.model.SessionState
import com.palmkit.core.parseServiceConfig
import java.io.File
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * The app's flow model through the generated bindings against a real `palmkit serve`, with
 * the platform services faked (Fakes.kt): what the Activity drives, minus the Views.
 */
class EnrollmentFlowTest {
    class Parts(
        val store: FakeKeystoreStore = FakeKeystoreStore(),
        val camera: FakeCameraPermission = FakeCameraPermission(CameraAccess.GRANTED),
        val frames: FakeCamera = FakeCamera(),
        val browser: FakeBrowser = FakeBrowser(),
        val talkBack: FakeTalkBack = FakeTalkBack(),
        val vibrator: FakeVibrator = FakeVibrator(),
        val clock: FakeClock = FakeClock(),
    )

    private fun makeFlow(parts: Parts, attachCamera: Boolean = true): EnrollmentFlow {
        val config = parseServiceConfig(AppTestEnv.configJson())
        val session = EnrollmentSession(config, parts.store)
        session.loadModels(AppTestEnv.env("PALMKIT_TEST_MODELS"))
        // The photo is a still picture: liveness reports but does not gate here (a
        // development-build switch; the phone library has no such call).
        session.setLivenessPolicy(LivenessPolicy.REPORT_ONLY)
        val platform = Platform(parts.camera, parts.browser, parts.talkBack, parts.vibrator) { parts.clock.now.get() }
        return EnrollmentFlow(session, config.redirectUri, platform).also {
            if (attachCamera) it.attach(parts.frames)
        }
    }

    /** Logs in as the shopper: the browser page approved, the redirect delivered. */
    private suspend fun logIn(flow: EnrollmentFlow, parts: Parts, cancel: Boolean = false) {
        flow.login()
        val page = parts.browser.opened.last()
        assertTrue(flow.onRedirect(AppTestEnv.browser(page, cancel)))
    }

    private suspend fun consented(parts: Parts, attachCamera: Boolean = true): EnrollmentFlow {
        val flow = makeFlow(parts, attachCamera)
        flow.start()
        logIn(flow, parts)
        flow.giveConsent()
        assertEquals(flow.ui.value.notice, Screen.Hands(emptyList()), flow.ui.value.screen)
        return flow
    }

    private val card = CardInput(
        number = "4242424242424242", expMonth = 12u, expYear = 2040u, cvc = "123", cardholderName = "Test Shopper",
    )

    @Test
    fun aWholeEnrollmentFromCameraFramesAndARestart() = runBlocking {
        val parts = Parts()
        val flow = makeFlow(parts)
        assertEquals(Screen.Starting, flow.ui.value.screen)
        flow.start()
        assertEquals(Screen.Login, flow.ui.value.screen)

        // Consent gates the camera: not even the permission is asked before it.
        flow.startCapture(Hand.LEFT)
        assertEquals("Give your consent first.", flow.ui.value.notice)
        // A URI that is not the app's redirect does not reach the session.
        assertFalse(flow.onRedirect("https://elsewhere.example/?code=x&state=y"))
        logIn(flow, parts)
        assertEquals(flow.ui.value.notice, Screen.Consent, flow.ui.value.screen)
        flow.startCapture(Hand.LEFT)
        assertEquals(0, parts.camera.requests.get())
        flow.giveConsent()

        flow.startCapture(Hand.LEFT)
        assertEquals(Screen.Capture(Hand.LEFT), flow.ui.value.screen)
        assertTrue(flow.ui.value.screen.isSensitive)
        assertEquals(1, parts.frames.starts.get())

        // Frames as the ImageReader hands them (YUV_420_888 planes with padded rows and
        // interleaved chroma views, rotation 90), on a background thread.
        var analyzed = 0
        var at = 1_000L
        while (parts.frames.running && analyzed < 40) {
            val result = flow.analyze(AppTestEnv.yuvFrame(at))
            assertNotNull(flow.ui.value.notice ?: "dropped", result)
            analyzed++
            at += 100
            parts.clock.now.addAndGet(100)
        }
        assertEquals(Screen.Hands(listOf(Hand.LEFT)), flow.ui.value.screen)
        assertEquals(HandStatus.CAPTURED, flow.ui.value.snapshot.left)
        assertFalse("the camera runs after the capture", parts.frames.running)
        assertEquals(1, parts.vibrator.ticks.get())
        assertTrue(parts.talkBack.spoken.isNotEmpty())
        assertTrue("every frame was announced", parts.talkBack.spoken.size < analyzed)
        assertEquals(flow.ui.value.guidance?.message, parts.talkBack.spoken.last())
        assertNull("a frame got in after the capture", flow.analyze(AppTestEnv.yuvFrame(at)))

        flow.enterCard()
        assertEquals(Screen.Card, flow.ui.value.screen)
        assertTrue(flow.ui.value.screen.isSensitive)
        flow.addCard(card)
        assertEquals(flow.ui.value.notice, Screen.Upload(0uL, 0uL), flow.ui.value.screen)
        assertTrue("the card number is in the saved progress", parts.store.entries.values.none { it.contains("4242424242424242") })

        val sawAll = launch(Dispatchers.Default) { flow.progress.first { (done, total) -> total > 0uL && done == total } }
        flow.upload()
        assertEquals(flow.ui.value.notice, SessionState.PendingStoreMatch, flow.ui.value.snapshot.state)
        assertEquals(Screen.Status, flow.ui.value.screen)
        assertEquals(HandStatus.PENDING_MATCH, flow.ui.value.snapshot.left)
        sawAll.join()

        // The process dies and the app starts again: the Keystore's progress brings it back.
        val restarted = makeFlow(Parts(store = parts.store))
        restarted.start()
        assertEquals(SessionState.PendingStoreMatch, restarted.ui.value.snapshot.state)
        assertEquals(flow.ui.value.snapshot.enrollmentId, restarted.ui.value.snapshot.enrollmentId)
        restarted.delete()
        assertEquals(SessionState.Deleted, restarted.ui.value.snapshot.state)
        restarted.enrollAgain()
        assertEquals(Screen.Hands(emptyList()), restarted.ui.value.screen)
    }

    @Test
    fun cancellingAtTheLoginPageStaysSignedOut() = runBlocking {
        val parts = Parts()
        val flow = makeFlow(parts)
        flow.start()
        logIn(flow, parts, cancel = true)
        assertEquals(Screen.Login, flow.ui.value.screen)
        assertEquals("Login cancelled.", flow.ui.value.notice)
        assertFalse(flow.ui.value.busy)
    }

    @Test
    fun noNetworkIsNamedAndTheLoginCanBeTriedAgain() = runBlocking {
        val parts = Parts()
        // The same service behind a closed port of this machine: no answer at all.
        val offline = parseServiceConfig(AppTestEnv.configJson()).copy(baseUrl = "https://127.0.0.1:1/")
        val platform = Platform(parts.camera, parts.browser, parts.talkBack, parts.vibrator) { parts.clock.now.get() }
        val flow = EnrollmentFlow(EnrollmentSession(offline, parts.store), offline.redirectUri, platform)
        flow.start()
        assertEquals(Screen.Login, flow.ui.value.screen)
        flow.login()
        assertEquals("No network. Check your connection and try again.", flow.ui.value.notice)
        assertEquals(Screen.Login, flow.ui.value.screen)
        assertFalse(flow.ui.value.busy)
        assertTrue("the browser opened without a login page", parts.browser.opened.isEmpty())
    }

    @Test
    fun aRefusedCameraShowsTheSettingsScreenAndCapturesNothing() = runBlocking {
        val parts = Parts(camera = FakeCameraPermission(CameraAccess.DENIED))
        val flow = consented(parts)
        flow.startCapture(null)
        assertEquals(Screen.Camera(CameraProblem.Denied), flow.ui.value.screen)
        assertEquals(SessionState.ConsentGiven, flow.ui.value.snapshot.state)
        assertEquals(0, parts.frames.starts.get())
        flow.dismissCameraProblem()
        assertEquals(Screen.Hands(emptyList()), flow.ui.value.screen)
    }

    @Test
    fun aCameraInUseIsReportedWhetherAttachedBeforeOrAfterTheCaptureStarts() = runBlocking {
        val parts = Parts(frames = FakeCamera(inUse = true))
        val flow = consented(parts)
        flow.startCapture(Hand.RIGHT)
        val inUse = Screen.Camera(CameraProblem.Unavailable("the camera is in use by another app"))
        assertEquals(inUse, flow.ui.value.screen)
        assertEquals(SessionState.ConsentGiven, flow.ui.value.snapshot.state)
        assertNull(flow.analyze(AppTestEnv.yuvFrame(1)))

        // The Activity's order: the capture screen makes the camera after the capture starts.
        val later = Parts()
        val second = consented(later, attachCamera = false)
        second.startCapture(Hand.LEFT)
        assertEquals(Screen.Capture(Hand.LEFT), second.ui.value.screen)
        second.attach(later.frames)
        assertTrue(later.frames.running)
        // Taken by another app mid-capture (CameraDevice.StateCallback.onDisconnected).
        second.cameraFailed("the camera is in use by another app")
        assertFalse(later.frames.running)
        assertEquals(inUse, second.ui.value.screen)
    }

    @Test
    fun backgroundingMidCaptureStopsTheCameraAndResumesOnReturn() = runBlocking {
        val parts = Parts()
        val flow = consented(parts)
        flow.startCapture(Hand.LEFT)
        assertTrue(parts.frames.running)
        flow.onBackground()
        assertFalse(parts.frames.running)
        assertEquals(SessionState.ConsentGiven, flow.ui.value.snapshot.state)
        assertNull("a frame got in while backgrounded", flow.analyze(AppTestEnv.yuvFrame(1)))
        flow.onForeground()
        assertEquals(Screen.Capture(Hand.LEFT), flow.ui.value.screen)
        assertEquals(2, parts.frames.starts.get())
    }

    @Test
    fun anUploadCancelledMidwayOrPausedByBackgroundingResumes() = runBlocking {
        val parts = Parts()
        val flow = consented(parts)
        flow.session.startHand(Hand.LEFT)
        flow.session.addCaptureFile(Hand.LEFT, File(AppTestEnv.env("PALMKIT_TEST_IMAGE")).readBytes())
        flow.sync()
        flow.enterCard()
        flow.addCard(card)
        assertEquals(flow.ui.value.notice, Screen.Upload(0uL, 0uL), flow.ui.value.screen)

        // Cancel at the first progress: paused, the photo still held.
        val canceller = launch(Dispatchers.Default) {
            flow.progress.first()
            flow.cancelUpload()
        }
        flow.upload()
        canceller.join()
        assertEquals(SessionState.PaymentChosen, flow.ui.value.snapshot.state)
        assertEquals(HandStatus.CAPTURED, flow.ui.value.snapshot.left)
        assertEquals("Paused. Your photos are still here, ready to send.", flow.ui.value.notice)

        // The app goes to the background mid-upload, then comes back: it goes up.
        val backgrounder = launch(Dispatchers.Default) {
            flow.ui.first { it.snapshot.state is SessionState.Uploading }
            flow.onBackground()
        }
        flow.upload()
        backgrounder.join()
        assertEquals(SessionState.PaymentChosen, flow.ui.value.snapshot.state)
        flow.onForeground()
        assertEquals(flow.ui.value.notice, SessionState.PendingStoreMatch, flow.ui.value.snapshot.state)
        assertNull(flow.ui.value.notice)
    }
}
