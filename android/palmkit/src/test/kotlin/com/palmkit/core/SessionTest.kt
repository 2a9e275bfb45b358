package com.palmkit.core

import com.palmkit.core.model.*
import java.io.File
import java.util.concurrent.CopyOnWriteArrayList
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/**
 * The whole enrollment through the generated bindings' EnrollmentSession against a real
 * `palmkit serve`: login, consent, the left hand from live NV21 camera frames (a palm photo,
 * report-only liveness since a photo is no live hand), the right hand from the photo file,
 * a card, an upload cancelled midway that then goes up, an app restart that finds the
 * enrollment pending, and its deletion.
 */
class SessionTest {
    private val dir = TestFrames.dir
    private fun nv21(at: ULong) = TestFrames.nv21(at)

    /** Records what the session tells; cancels the upload at its first progress once. */
    private class Recorder : SessionListener {
        val states = CopyOnWriteArrayList<SessionSnapshot>()
        val progress = CopyOnWriteArrayList<Pair<ULong, ULong>>()
        @Volatile var cancelOnce: EnrollmentSession? = null

        override fun onStateChanged(snapshot: SessionSnapshot) {
            states.add(snapshot)
        }

        override fun onUploadProgress(confirmed: ULong, total: ULong) {
            progress.add(confirmed to total)
            cancelOnce?.let { cancelOnce = null; assertTrue(it.cancelUpload()) }
        }
    }

    /** A fake of logcat: keeps what the core logs. */
    private class FakeLogcat : LogSink {
        val lines = CopyOnWriteArrayList<Triple<LogLevel, String, String>>()
        override fun log(level: LogLevel, target: String, message: String) {
            lines.add(Triple(level, target, message))
        }
    }

    @Test
    fun aWholeEnrollmentThroughTheSession() = runBlocking {
        // The core's logs go to the platform's log (once per process).
        val logcat = FakeLogcat()
        initPlatform(LogLevel.INFO, logcat)
        try {
            initPlatform(LogLevel.INFO, FakeLogcat())
            fail("a second sink was installed")
        } catch (e: PalmKitException.InvalidConfig) {
        }
        val store = FakeSecureStore()
        val session = EnrollmentSession(TestEnv.config(), store)
        val recorder = Recorder()
        session.setListener(recorder)
        assertEquals(SessionState.SignedOut, session.restore().state)
        try {
            session.giveConsent("v1")
            fail("consent before login")
        } catch (e: PalmKitException.OutOfOrder) {
            assertTrue(e.reason, e.reason.contains("signed out"))
        }
        val redirect = TestEnv.browser(session.startLogin())
        assertEquals(SessionState.SignedIn, session.finishLogin(redirect).state)
        session.giveConsent("biometric-2026-12")

        // The left hand from live camera frames.
        session.loadModels(TestEnv.env("PALMKIT_TEST_MODELS"))
        session.setLivenessPolicy(LivenessPolicy.REPORT_ONLY)
        session.startHand(Hand.LEFT)
        val frame = File(dir, "frame.nv21").readBytes()
        var capturedAt = -1
        for (i in 0 until 30) {
            val result = session.analyzeFrame(frame, nv21(1000uL + 100uL * i.toULong()))
            // The instruction is an enum the screen switches over exhaustively.
            val shown = when (result.guidance) {
                GuidanceCode.HOLD_STEADY, GuidanceCode.CAPTURED -> true
                else -> false
            }
            assertTrue("${result.guidance} on a palm that passes every check", shown)
            if (result.captured) { capturedAt = i; break }
        }
        assertTrue("no auto-capture in 30 frames", capturedAt >= 0)
        var snap = session.snapshot()
        assertEquals(SessionState.Captured(listOf(Hand.LEFT)), snap.state)
        assertEquals(HandStatus.CAPTURED, snap.left)

        // The right hand from the photo file (QA builds only).
        session.startHand(Hand.RIGHT)
        snap = session.addCaptureFile(Hand.RIGHT, File(TestEnv.env("PALMKIT_TEST_IMAGE")).readBytes())
        assertEquals(SessionState.Captured(listOf(Hand.LEFT, Hand.RIGHT)), snap.state)

        val card = CardInput(number = "4242424242424242", expMonth = 12u, expYear = 2040u, cvc = "123", cardholderName = "Test Shopper")
        val method = (session.addCard(card) as AddCardOutcome.Added).method
        session.choosePayment(method.id)
        assertEquals(SessionState.PaymentChosen, session.snapshot().state)

        // Cancelled at the first progress: back to PaymentChosen, captures still held.
        recorder.cancelOnce = session
        try {
            session.upload()
            fail("the upload was not cancelled")
        } catch (e: PalmKitException.Cancelled) {
        }
        snap = session.snapshot()
        assertEquals(SessionState.PaymentChosen, snap.state)
        assertEquals(HandStatus.CAPTURED, snap.right)
        snap = session.upload()
        assertEquals(SessionState.PendingStoreMatch, snap.state)
        assertEquals(HandStatus.PENDING_MATCH, snap.left)
        assertEquals(HandStatus.PENDING_MATCH, snap.right)
        val id = snap.enrollmentId ?: error("no enrollment id")
        val (last, total) = recorder.progress.last()
        assertEquals(total, last)
        assertTrue(recorder.states.any { it.state is SessionState.Uploading })
        session.close()

        // The app restarts: the login and the pending enrollment come back from the store.
        val restarted = EnrollmentSession(TestEnv.config(), store)
        snap = restarted.restore()
        assertEquals(SessionState.PendingStoreMatch, snap.state)
        assertEquals(id, snap.enrollmentId)
        assertEquals(SessionState.Deleted, restarted.delete().state)
        assertEquals(SessionState.ConsentGiven, restarted.enrollAgain().state)
        restarted.close()

        // The session's steps reached the log; the login's code and state did not.
        val logged = logcat.lines.joinToString("\n") { "${it.first} ${it.second}: ${it.third}" }
        assertTrue(logged, logcat.lines.any { it.second.startsWith("palmkit_core") && it.third.contains("enrollment session") })
        assertTrue(logged, logcat.lines.any { it.third.contains("capture uploaded") })
        val code = Regex("[?&]code=([^&]+)").find(redirect)!!.groupValues[1]
        assertTrue("the login code was logged", logcat.lines.none { it.third.contains(code) })
    }
}
