package com.palmkit.app.ui

import android.content.Intent
import android.graphics.Bitmap
import android.graphics.Canvas
import android.net.Uri
import android.os.Looper
import android.view.View
import android.view.ViewGroup
import android.view.WindowManager
import android.widget.Button
import android.widget.TextView
import com.palmkit.app.MainActivity
import com.palmkit.app.PalmKitApplication
import com.palmkit.app.flow.AppTestEnv
import com.palmkit.app.flow.CameraAccess
import com.palmkit.app.flow.EnrollmentFlow
import com.palmkit.app.flow.FakeBrowser
import com.palmkit.app.flow.FakeCamera
import com.palmkit.app.flow.FakeCameraPermission
import com.palmkit.app.flow.FakeKeystoreStore
import com.palmkit.app.flow.FakeTalkBack
import com.palmkit.app.flow.FakeVibrator
import com.palmkit.app.flow.Platform
import com.palmkit.app.flow.Screen
import com.palmkit.core.EnrollmentSession
import com.palmkit.core.model.Hand
import com.palmkit.core.model.LivenessPolicy
import com.palmkit.core.parseServiceConfig
import java.io.File
import java.util.concurrent.CountDownLatch
import java.util.concurrent.atomic.AtomicInteger
import kotlin.concurrent.thread
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.android.controller.ActivityController
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode

/**
 * The Activity and its screens under Robolectric, driving a real EnrollmentSession against
 * the real `palmkit serve` that `cargo xtask android` starts. Robolectric has no Keystore
 * and no camera frames: the store, the permission answer, the browser, TalkBack, the
 * vibrator and the camera are fakes (com.palmkit.app.flow's Fakes.kt); frames come from the
 * shared photo's sensor frame. Each screen is drawn to a PNG in PALMKIT_SCREENSHOTS.
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], qualifiers = "w411dp-h891dp-xxhdpi")
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class MainActivityTest {
    private val browser = FakeBrowser()
    private val talkBack = FakeTalkBack()
    private val vibrator = FakeVibrator()
    private val camera = FakeCamera()
    private var controller: ActivityController<MainActivity>? = null

    private fun launch(access: CameraAccess = CameraAccess.GRANTED): ActivityController<MainActivity> {
        PalmKitApplication.flowFactory = { _, _ ->
            val config = parseServiceConfig(AppTestEnv.configJson())
            val session = EnrollmentSession(config, FakeKeystoreStore())
            session.loadModels(AppTestEnv.env("PALMKIT_TEST_MODELS"))
            session.setLivenessPolicy(LivenessPolicy.REPORT_ONLY)
            EnrollmentFlow(session, config.redirectUri, Platform(FakeCameraPermission(access), browser, talkBack, vibrator))
        }
        PalmKitApplication.cameraFactory = { camera }
        return Robolectric.buildActivity(MainActivity::class.java).setup().also { controller = it }
    }

    @After
    fun tearDown() {
        controller?.pause()?.stop()?.destroy()
        PalmKitApplication.flowFactory = null
        PalmKitApplication.cameraFactory = null
    }

    private val ActivityController<MainActivity>.flow: EnrollmentFlow
        get() = (get().application as PalmKitApplication).flow!!

    /** Runs the main looper (the flow's coroutines resume there) until [done], up to 20 s. */
    private fun waitFor(what: String, done: () -> Boolean) {
        val end = System.currentTimeMillis() + 20_000
        while (!done()) {
            shadowOf(Looper.getMainLooper()).idle()
            if (System.currentTimeMillis() > end) fail("timed out waiting for $what")
            Thread.sleep(5)
        }
        shadowOf(Looper.getMainLooper()).idle()
    }

    private fun ActivityController<MainActivity>.screen() = get().rendered?.screen

    private fun ActivityController<MainActivity>.views(): List<View> {
        val all = mutableListOf<View>()
        fun walk(v: View) {
            all.add(v)
            if (v is ViewGroup) for (i in 0 until v.childCount) walk(v.getChildAt(i))
        }
        walk(get().window.decorView)
        return all
    }

    private fun ActivityController<MainActivity>.button(text: String): Button =
        views().filterIsInstance<Button>().firstOrNull { it.text.toString() == text }
            ?: error("no button \"$text\" on ${screen()}")

    private fun ActivityController<MainActivity>.shows(text: String) =
        views().filterIsInstance<TextView>().any { it.visibility == View.VISIBLE && it.text.toString().contains(text) }

    private fun ActivityController<MainActivity>.secure() =
        get().window.attributes.flags and WindowManager.LayoutParams.FLAG_SECURE != 0

    /** Draws the window to PALMKIT_SCREENSHOTS/NAME.png (when set); checks it is not blank. */
    private fun ActivityController<MainActivity>.screenshot(name: String) {
        val root = get().window.decorView
        val bitmap = Bitmap.createBitmap(root.width, root.height, Bitmap.Config.ARGB_8888)
        root.draw(Canvas(bitmap))
        val colours = HashSet<Int>()
        for (y in 0 until bitmap.height step 16) for (x in 0 until bitmap.width step 16) colours.add(bitmap.getPixel(x, y))
        assertTrue("the $name screen drew nothing", colours.size > 1)
        val dir = System.getenv("PALMKIT_SCREENSHOTS") ?: return
        File(dir).mkdirs()
        File(dir, "$name.png").outputStream().use { bitmap.compress(Bitmap.CompressFormat.PNG, 100, it) }
    }

    /** Login through the browser, the redirect delivered to the Activity's intent-filter. */
    private fun ActivityController<MainActivity>.logIn() {
        waitFor("the login screen") { screen() == Screen.Login }
        button("Log in").performClick()
        waitFor("the browser") { browser.opened.isNotEmpty() }
        val redirect = AppTestEnv.browser(browser.opened.last())
        newIntent(Intent(Intent.ACTION_VIEW, Uri.parse(redirect)))
        waitFor("the consent screen") { screen() == Screen.Consent }
    }

    @Test
    fun everyScreenFromLoginToStatusWithTheRedirectAndARotation() {
        val c = launch()
        waitFor("the login screen") { c.screen() == Screen.Login }
        assertFalse(c.secure())
        c.screenshot("1-login")
        c.logIn()
        assertTrue(c.shows("Where it goes"))
        assertTrue(c.shows("How to delete it"))
        c.screenshot("2-consent")

        // A rotation recreates the Activity; the flow (in the Application) keeps the state.
        c.recreate()
        waitFor("the consent screen again") { c.screen() == Screen.Consent }

        c.button("I agree").performClick()
        waitFor("the hands screen") { c.screen() == Screen.Hands(emptyList()) }
        c.screenshot("3-hands")

        c.button("Photograph your left palm").performClick()
        waitFor("the capture screen") { c.screen() == Screen.Capture(Hand.LEFT) }
        assertTrue("FLAG_SECURE is not set on the camera screen", c.secure())
        assertTrue(camera.running)
        val overlay = c.views().filterIsInstance<PalmOverlayView>().single()
        assertNotNull(overlay.contentDescription)

        // Frames on a background thread, as the ImageReader's handler calls: two at once
        // show the back-pressure (one is dropped, not queued).
        val flow = c.flow
        val dropped = AtomicInteger()
        val start = CountDownLatch(1)
        val pair = (0 until 2).map { i ->
            thread {
                start.await()
                if (flow.analyze(AppTestEnv.yuvFrame(1_000L + i)) == null) dropped.incrementAndGet()
            }
        }
        start.countDown()
        pair.forEach { it.join() }
        assertEquals("of two frames at once, one must be dropped", 1, dropped.get())
        waitFor("the guidance on screen") { c.get().rendered?.guidance != null }
        assertEquals(c.get().rendered?.guidance?.message, c.views().filterIsInstance<TextView>().first { it.text == c.get().rendered?.guidance?.message }.text)
        // The overlay follows the guidance: green exactly when the flow says ready.
        assertEquals(c.get().rendered!!.guidance!!.ready, overlay.ready)
        c.screenshot("4-capture")
        var at = 2_000L
        thread {
            while (camera.running && at < 6_000L) {
                flow.analyze(AppTestEnv.yuvFrame(at))
                at += 100
            }
        }.join()
        waitFor("the capture") { c.screen() == Screen.Hands(listOf(Hand.LEFT)) }
        assertFalse(c.secure())
        assertEquals(1, vibrator.ticks.get())
        assertTrue("TalkBack heard nothing", talkBack.spoken.isNotEmpty())
        assertTrue(c.button("Left palm captured").let { !it.isEnabled })

        c.button("Continue to payment").performClick()
        waitFor("the card screen") { c.screen() == Screen.Card }
        assertTrue("FLAG_SECURE is not set on the card screen", c.secure())
        val fields = c.views().filterIsInstance<android.widget.EditText>()
        assertEquals(4, fields.size)
        fields.forEach { assertNotNull("a field without a description", it.contentDescription) }
        assertEquals(View.IMPORTANT_FOR_AUTOFILL_NO, fields[0].importantForAutofill)
        fields[0].setText("4242 4242 4242 4242")
        fields[1].setText("12/40")
        fields[2].setText("123")
        fields[3].setText("Test Shopper")
        c.screenshot("5-card")
        c.button("Add card").performClick()
        waitFor("the upload screen") { c.screen() == Screen.Upload(0uL, 0uL) && c.get().rendered?.busy == false }
        assertEquals("the CVC stays in the form", "", fields[2].text.toString())
        c.screenshot("6-upload")

        c.button("Send").performClick()
        waitFor("the status screen") { c.screen() == Screen.Status }
        assertTrue(c.shows("Sent. Your enrollment completes"))
        assertTrue(c.shows("Left palm: pending store match"))
        c.screenshot("7-status")

        c.button("Delete my enrollment").performClick()
        waitFor("the deletion") { c.shows("Deleted, with its photos") }
    }

    @Test
    fun aRefusedCameraShowsTheSettingsScreen() {
        val c = launch(CameraAccess.DENIED)
        c.logIn()
        // Consent gates the camera: no capture button before it.
        assertTrue(c.views().filterIsInstance<Button>().none { it.text.startsWith("Photograph") })
        c.button("I agree").performClick()
        waitFor("the hands screen") { c.screen() == Screen.Hands(emptyList()) }
        c.button("Photograph your right palm").performClick()
        waitFor("the camera problem screen") { c.screen() is Screen.Camera }
        assertTrue(c.shows("needs the camera"))
        assertFalse(camera.running)
        c.screenshot("8-camera-refused")
        c.button("Back").performClick()
        waitFor("the hands screen") { c.screen() == Screen.Hands(emptyList()) }
    }

    @Test
    fun everyControlIsDescribedForTalkBack() {
        val c = launch()
        c.logIn()
        for (v in c.views()) {
            if (v.isClickable && v is TextView) assertTrue("a control without text: $v", v.text.isNotBlank())
        }
    }
}
