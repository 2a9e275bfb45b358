package com.palmkit.core

import com.palmkit.core.model.*
import java.util.concurrent.CopyOnWriteArrayList
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/**
 * A real palm photograph sealed and uploaded through the generated bindings' session to a
 * real `palmkit serve`, attested as each platform does it, then the enrollment submitted.
 */
class UploadTest {
    private class Progress : SessionListener {
        val seen = CopyOnWriteArrayList<Pair<ULong, ULong>>()
        override fun onStateChanged(snapshot: SessionSnapshot) {}
        override fun onUploadProgress(confirmed: ULong, total: ULong) {
            seen.add(confirmed to total)
        }
    }

    @Test
    fun anAttestedUploadIsAcceptedAndAnUnattestableDeviceNamed() = runBlocking {
        TestEnv.consented().use { session ->
            val attestor = FakeDevAttestor()
            session.setAttestor(attestor)
            TestEnv.readyToUpload(session, Hand.RIGHT)
            assertEquals(SessionState.PendingStoreMatch, session.upload().state)
            // One statement per upload, over a 32-byte challenge (nonce + envelope hash).
            assertEquals(1, attestor.challenges.size)
            assertEquals(32, attestor.challenges[0].size)
        }
        TestEnv.consented().use { session ->
            session.setAttestor(FakeUnattestableDevice())
            TestEnv.readyToUpload(session, Hand.RIGHT)
            try {
                session.upload()
                fail("an upload went without the attestation asked for")
            } catch (e: PalmKitException.Rejected) {
                assertTrue(e.reason, e.reason.contains("no attestation keystore"))
            }
            val failed = session.snapshot().state as SessionState.Failed
            assertEquals(FailureReason.REJECTED, failed.failure.reason)
            // The capture is still held: nothing was lost.
            assertEquals(HandStatus.CAPTURED, session.snapshot().right)
        }
    }

    @Test
    fun aKeyAttestationChainIsVerifiedByTheServiceAndAnotherAppsRefused() = runBlocking {
        TestEnv.consented().use { session ->
            val keystore = FakeKeyStore()
            session.setKeyAttestation(keystore)
            TestEnv.readyToUpload(session, Hand.RIGHT)
            assertEquals(SessionState.PendingStoreMatch, session.upload().state)
            assertEquals(1, keystore.challenges.size)
            assertEquals(32, keystore.challenges[0].size)
        }
        TestEnv.consented().use { session ->
            // A chain for another package is refused by name, when the upload is created.
            session.setKeyAttestation(FakeKeyStore("com.example.other"))
            TestEnv.readyToUpload(session, Hand.RIGHT)
            try {
                session.upload()
                fail("another app's statement was accepted")
            } catch (e: PalmKitException.Rejected) {
                assertTrue(e.reason, e.reason.contains("wrong_app_id"))
            }
        }
    }

    @Test
    fun aPalmPhotoIsUploadedTheEnrollmentSubmittedThenDeleted() = runBlocking {
        TestEnv.consented().use { session ->
            val progress = Progress()
            session.setListener(progress)
            TestEnv.readyToUpload(session, Hand.RIGHT)
            val submitted = session.upload()
            assertEquals(SessionState.PendingStoreMatch, submitted.state)
            assertEquals(HandStatus.PENDING_MATCH, submitted.right)
            val (last, total) = progress.seen.last()
            assertEquals(total, last)
            assertTrue("sealed is larger than the photo", total > 1000uL)
            // Read back from the service: the same enrollment, still pending.
            assertEquals(submitted, session.refresh())
            assertEquals(SessionState.Deleted, session.delete().state)
            assertEquals(SessionState.ConsentGiven, session.enrollAgain().state)
        }
    }

    @Test
    fun consentIsRecordedOnceAndNotAnImageIsTyped() = runBlocking {
        TestEnv.signedIn().use { session ->
            val consent = session.giveConsent("biometric-2026-11")
            assertEquals("biometric-2026-11", consent.textVersion)
            assertEquals(SessionState.ConsentGiven, session.snapshot().state)
            session.startHand(Hand.LEFT)
            try {
                session.addCaptureFile(Hand.LEFT, "not a photo".toByteArray())
                fail("bytes that are no image were held as a capture")
            } catch (e: PalmKitException.InvalidCapture) {
                assertTrue(e.reason, e.reason.contains("JPEG or PNG"))
            }
            assertEquals(HandStatus.NOT_CAPTURED, session.snapshot().left)
        }
    }
}
