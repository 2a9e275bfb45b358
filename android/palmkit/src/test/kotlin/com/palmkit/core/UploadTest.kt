package com.palmkit.core

import java.io.File
import java.util.concurrent.CopyOnWriteArrayList
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/**
 * A real palm photograph sealed and uploaded through the generated bindings to a real
 * `palmkit serve`, then the enrollment submitted.
 */
class UploadTest {
    private class Progress : UploadProgressListener {
        val seen = CopyOnWriteArrayList<Pair<ULong, ULong>>()
        override fun onProgress(confirmed: ULong, total: ULong) {
            seen.add(confirmed to total)
        }
    }

    private fun photo(): ByteArray = File(TestEnv.env("PALMKIT_TEST_IMAGE")).readBytes()

    @Test
    fun anAttestedUploadIsAcceptedAndAnUnattestableDeviceNamed() = runBlocking {
        TestEnv.signedIn().use { kit ->
            val attestor = FakeDevAttestor()
            kit.setAttestor(attestor)
            val draft = kit.createEnrollment(listOf(Hand.RIGHT), null)
            val receipt = kit.uploadCapture(draft.id, Hand.RIGHT, photo(), CaptureOrigin.CAMERA, Progress(), UploadCancel())
            assertTrue(receipt.length > 1000uL)
            // One statement per upload, over a 32-byte challenge (nonce + envelope hash).
            assertEquals(1, attestor.challenges.size)
            assertEquals(32, attestor.challenges[0].size)
            kit.setAttestor(FakeUnattestableDevice())
            try {
                kit.uploadCapture(draft.id, Hand.RIGHT, photo(), CaptureOrigin.CAMERA, Progress(), UploadCancel())
                fail("an upload went without the attestation asked for")
            } catch (e: PalmKitException.Rejected) {
                assertTrue(e.reason, e.reason.contains("no attestation keystore"))
            }
        }
    }

    @Test
    fun aKeyAttestationChainIsVerifiedByTheServiceAndAnotherAppsRefused() = runBlocking {
        TestEnv.signedIn().use { kit ->
            val keystore = FakeKeyStore()
            kit.setKeyAttestation(keystore)
            val draft = kit.createEnrollment(listOf(Hand.RIGHT), null)
            val receipt = kit.uploadCapture(draft.id, Hand.RIGHT, photo(), CaptureOrigin.CAMERA, Progress(), UploadCancel())
            assertTrue(receipt.length > 1000uL)
            assertEquals(1, keystore.challenges.size)
            assertEquals(32, keystore.challenges[0].size)
            // A chain for another package is refused by name, when the upload is created.
            kit.setKeyAttestation(FakeKeyStore("com.example.other"))
            try {
                kit.uploadCapture(draft.id, Hand.RIGHT, photo(), CaptureOrigin.CAMERA, Progress(), UploadCancel())
                fail("another app's statement was accepted")
            } catch (e: PalmKitException.Rejected) {
                assertTrue(e.reason, e.reason.contains("wrong_app_id"))
            }
        }
    }

    @Test
    fun aPalmPhotoIsUploadedAndTheEnrollmentSubmitted() = runBlocking {
        TestEnv.signedIn().use { kit ->
            val image = photo()
            val key = newIdempotencyKey()
            val draft = kit.createEnrollment(listOf(Hand.RIGHT), key)
            assertEquals(EnrollmentStatus.DRAFT, draft.status)
            // A create retried with the same key is the same draft.
            assertEquals(draft, kit.createEnrollment(listOf(Hand.RIGHT), key))

            val progress = Progress()
            val receipt = kit.uploadCapture(draft.id, Hand.RIGHT, image, CaptureOrigin.FILE, progress, UploadCancel())
            assertTrue("sealed is larger than the photo", receipt.length > image.size.toULong())
            assertEquals(receipt.length, receipt.bytesSent)
            assertEquals(receipt.length to receipt.length, progress.seen.last())

            val submitted = kit.submitEnrollment(draft.id, listOf(receipt.uploadId), newIdempotencyKey())
            assertEquals(EnrollmentStatus.PENDING_STORE_MATCH, submitted.status)
            assertEquals(submitted, kit.enrollment(draft.id))
        }
    }

    @Test
    fun consentIsRecordedAndADeletedEnrollmentIsGone() = runBlocking {
        TestEnv.signedIn().use { kit ->
            val consent = kit.giveConsent("biometric-2026-11")
            assertEquals("biometric-2026-11", consent.textVersion)
            assertEquals(consent, kit.giveConsent("biometric-2026-11"))

            val draft = kit.createEnrollment(listOf(Hand.LEFT), null)
            val receipt = kit.uploadCapture(draft.id, Hand.LEFT, photo(), CaptureOrigin.FILE, Progress(), UploadCancel())
            kit.submitEnrollment(draft.id, listOf(receipt.uploadId), newIdempotencyKey())
            kit.deleteEnrollment(draft.id)
            try {
                kit.enrollment(draft.id)
                fail("a deleted enrollment was still found")
            } catch (e: PalmKitException.Rejected) {
                assertTrue(e.reason, e.reason.contains("no such enrollment"))
            }
        }
    }

    @Test
    fun notAnImageAndCancellingAreTyped() = runBlocking {
        TestEnv.signedIn().use { kit ->
            val draft = kit.createEnrollment(listOf(Hand.LEFT), null)
            try {
                kit.uploadCapture(draft.id, Hand.LEFT, "not a photo".toByteArray(), CaptureOrigin.FILE, Progress(), UploadCancel())
                fail("bytes that are no image were uploaded")
            } catch (e: PalmKitException.InvalidCapture) {
                assertTrue(e.reason, e.reason.contains("JPEG or PNG"))
            }
            val cancel = UploadCancel()
            cancel.cancel()
            try {
                kit.uploadCapture(draft.id, Hand.LEFT, photo(), CaptureOrigin.FILE, Progress(), cancel)
                fail("a cancelled upload completed")
            } catch (e: PalmKitException.Cancelled) {
                assertTrue(cancel.isCancelled())
            }
            try {
                kit.submitEnrollment(draft.id, emptyList(), newIdempotencyKey())
                fail("an enrollment without captures was submitted")
            } catch (e: PalmKitException.Rejected) {
                assertTrue(e.reason, e.reason.contains("captures_missing"))
            }
        }
    }
}
