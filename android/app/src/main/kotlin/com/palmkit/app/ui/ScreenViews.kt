/*
 * The screens as plain framework Views (no Jetpack: Google's Maven is not reachable here),
 * built when the screen changes and updated in place while it stays (the capture screen
 * keeps its preview and camera across guidance updates). Every control has a content
 * description or visible text; nothing here decides a transition — buttons call the flow.
 */
package com.palmkit.app.ui

import android.app.Activity
import android.content.Intent
import android.graphics.Color
import android.net.Uri
import android.provider.Settings
import android.text.InputType
import android.view.Gravity
import android.view.Surface
import android.view.TextureView
import android.view.View
import android.view.ViewGroup
import android.widget.Button
import android.widget.EditText
import android.widget.FrameLayout
import android.widget.LinearLayout
import android.widget.ProgressBar
import android.widget.TextView
import com.palmkit.app.PalmKitApplication
import com.palmkit.app.R
import com.palmkit.app.flow.CameraProblem
import com.palmkit.app.flow.EnrollmentFlow
import com.palmkit.app.flow.FlowUi
import com.palmkit.app.flow.Screen
import com.palmkit.app.platform.Camera2FrameSource
import com.palmkit.core.CardInput
import com.palmkit.core.model.FailureReason
import com.palmkit.core.model.Hand
import com.palmkit.core.model.HandStatus
import com.palmkit.core.model.SessionState
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.launch

class ScreenViews(private val activity: Activity, private val container: FrameLayout) {
    lateinit var flow: EnrollmentFlow
    private var shown: Any? = null
    private val scope = CoroutineScope(SupervisorJob() + activity.mainExecutor.asCoroutineDispatcher())
    private var notice: TextView? = null
    private val busyButtons = mutableListOf<Button>()

    // The parts updated in place while their screen shows.
    private var guidanceText: TextView? = null
    private var overlay: PalmOverlayView? = null
    private var progress: ProgressBar? = null

    private fun act(work: suspend EnrollmentFlow.() -> Unit) {
        scope.launch { flow.work() }
    }

    /** Runs a flow step on the main thread, outliving the Activity's start/stop. */
    fun launch(work: suspend () -> Unit) {
        scope.launch { work() }
    }

    fun showError(text: String) {
        container.removeAllViews()
        container.addView(column(text(text)))
    }

    fun render(ui: FlowUi) {
        if (layoutKey(ui) != shown) rebuild(ui)
        guidanceText?.let { g ->
            ui.guidance?.let {
                g.text = it.message
                g.setBackgroundColor(if (it.ready) Color.argb(200, 0, 120, 0) else Color.argb(160, 0, 0, 0))
            }
        }
        overlay?.ready = ui.guidance?.ready == true
        (ui.screen as? Screen.Upload)?.let { up ->
            progress?.let {
                it.isIndeterminate = up.total == 0uL
                if (up.total > 0uL) it.progress = (up.confirmed * 1000uL / up.total).toInt()
            }
        }
        notice?.text = ui.notice.orEmpty()
        notice?.visibility = if (ui.notice == null) View.GONE else View.VISIBLE
        busyButtons.forEach { it.isEnabled = !ui.busy }
    }

    /** What the layout depends on: it is rebuilt when this changes, else updated in place. */
    private fun layoutKey(ui: FlowUi): Any = when (val s = ui.screen) {
        is Screen.Upload -> if (s.total == 0uL && !ui.busy) "upload-ready" else "upload-sending"
        Screen.Status -> Triple(ui.snapshot.state, ui.snapshot.left, ui.snapshot.right)
        else -> s
    }

    private fun rebuild(ui: FlowUi) {
        // The capture screen's camera belongs to its views: released when they go.
        if (shown is Screen.Capture && ui.screen !is Screen.Capture) flow.attach(null)
        shown = layoutKey(ui)
        guidanceText = null
        overlay = null
        progress = null
        busyButtons.clear()
        container.removeAllViews()
        val view = when (val s = ui.screen) {
            Screen.Starting -> column(text(R.string.loading))
            Screen.Login -> column(
                title(R.string.login_title), text(R.string.login_body),
                button(R.string.login_button, busy = true, hint = R.string.login_hint) { login() },
            )
            Screen.Consent -> column(
                title(R.string.consent_title), text(R.string.consent_what), text(R.string.consent_where),
                text(R.string.consent_delete),
                button(R.string.consent_agree, busy = true) { giveConsent() },
                button(R.string.logout, busy = true) { logout() },
            )
            is Screen.Hands -> column(
                title(R.string.hands_title),
                handButton(Hand.LEFT, s.captured), handButton(Hand.RIGHT, s.captured),
                *(if (s.captured.isEmpty()) emptyArray() else arrayOf(button(R.string.continue_to_card) { enterCard() })),
            )
            is Screen.Capture -> captureScreen()
            is Screen.Camera -> when (val p = s.problem) {
                CameraProblem.Denied -> column(
                    text(R.string.camera_denied),
                    button(R.string.open_settings) {
                        activity.startActivity(
                            Intent(Settings.ACTION_APPLICATION_DETAILS_SETTINGS, Uri.parse("package:" + activity.packageName)),
                        )
                    },
                    button(R.string.back) { dismissCameraProblem() },
                )
                is CameraProblem.Unavailable -> column(
                    text(activity.getString(R.string.camera_unavailable, p.why)),
                    button(R.string.back) { dismissCameraProblem() },
                )
            }
            Screen.Card -> cardScreen()
            is Screen.Upload -> uploadScreen(s)
            Screen.Status -> statusScreen(ui)
            is Screen.Failed -> column(
                text(failureText(s.reason)),
                *(if (s.retryable) arrayOf(button(R.string.try_again, busy = true) { retry() }) else emptyArray()),
                button(R.string.start_over) { enrollAgain() },
            )
        }
        container.addView(view)
    }

    private fun captureScreen(): View {
        val frame = FrameLayout(activity).apply { setBackgroundColor(Color.BLACK) }
        val preview = TextureView(activity).apply { contentDescription = activity.getString(R.string.camera_preview) }
        frame.addView(preview, FrameLayout.LayoutParams(MATCH, MATCH))
        val outline = PalmOverlayView(activity).apply { contentDescription = activity.getString(R.string.palm_outline) }
        frame.addView(outline, FrameLayout.LayoutParams(MATCH, MATCH))
        val guidance = TextView(activity).apply {
            text = activity.getString(R.string.capture_start)
            setTextColor(Color.WHITE)
            textSize = 20f
            gravity = Gravity.CENTER
            setPadding(32, 24, 32, 24)
            setBackgroundColor(Color.argb(160, 0, 0, 0))
            // TalkBack hears changes through the flow's rate-limited announcements.
            importantForAccessibility = View.IMPORTANT_FOR_ACCESSIBILITY_YES
        }
        val cancel = button(R.string.cancel) { cancelCapture() }
        val bottom = column(guidance, cancel).apply { gravity = Gravity.BOTTOM }
        frame.addView(bottom, FrameLayout.LayoutParams(MATCH, MATCH))
        guidanceText = guidance
        overlay = outline
        val camera = PalmKitApplication.cameraFactory?.invoke(flow)
            ?: Camera2FrameSource(activity, flow, preview) { displayDegrees() }
        flow.attach(camera)
        return frame
    }

    @Suppress("DEPRECATION") // Activity.display is API 30; windowManager.defaultDisplay serves API 28.
    private fun displayDegrees(): Int = when (activity.windowManager.defaultDisplay.rotation) {
        Surface.ROTATION_90 -> 90
        Surface.ROTATION_180 -> 180
        Surface.ROTATION_270 -> 270
        else -> 0
    }

    private fun cardScreen(): View {
        // The card fields are never logged, never autofilled into anything but the form, and
        // the window is FLAG_SECURE while they show.
        val number = field(R.string.card_number, InputType.TYPE_CLASS_NUMBER)
        val expiry = field(R.string.card_expiry, InputType.TYPE_CLASS_DATETIME)
        val cvc = field(R.string.card_cvc, InputType.TYPE_CLASS_NUMBER or InputType.TYPE_NUMBER_VARIATION_PASSWORD)
        val name = field(R.string.card_name, InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_VARIATION_PERSON_NAME)
        number.importantForAutofill = View.IMPORTANT_FOR_AUTOFILL_NO
        cvc.importantForAutofill = View.IMPORTANT_FOR_AUTOFILL_NO
        val add = button(R.string.add_card, busy = true) {
            val parts = expiry.text.split("/").mapNotNull { it.trim().toUIntOrNull() }
            addCard(
                CardInput(
                    number = number.text.filter(Char::isDigit).toString(),
                    expMonth = parts.getOrElse(0) { 0u },
                    expYear = parts.getOrNull(1)?.let { 2000u + it % 100u } ?: 0u,
                    cvc = cvc.text.toString(),
                    cardholderName = name.text.toString(),
                ),
            )
            cvc.text.clear()
        }
        return column(
            title(R.string.card_title), number, expiry, cvc, name, add,
            button(R.string.confirm_card, busy = true) { confirmCard() },
            button(R.string.back) { leaveCard() },
        )
    }

    private fun uploadScreen(s: Screen.Upload): View {
        if (s.total == 0uL && !flow.ui.value.busy) {
            return column(text(R.string.upload_ready), button(R.string.upload_send, busy = true) { upload() })
        }
        val bar = ProgressBar(activity, null, android.R.attr.progressBarStyleHorizontal).apply {
            max = 1000
            contentDescription = activity.getString(R.string.upload_sending)
        }
        progress = bar
        return column(
            text(R.string.upload_sending), bar,
            button(R.string.cancel, hint = R.string.upload_cancel_hint) { cancelUpload() },
        )
    }

    private fun statusScreen(ui: FlowUi): View {
        val state = ui.snapshot.state
        val line = when (state) {
            SessionState.PendingStoreMatch -> R.string.status_pending
            SessionState.Complete -> R.string.status_complete
            SessionState.Expired -> R.string.status_expired
            else -> R.string.status_deleted
        }
        val hands = listOf(R.string.left to ui.snapshot.left, R.string.right to ui.snapshot.right).map { (hand, status) ->
            text(activity.getString(R.string.hand_status, activity.getString(hand), status.label()))
        }
        val actions = if (state == SessionState.PendingStoreMatch || state == SessionState.Complete) {
            arrayOf(
                button(R.string.check_status, busy = true) { refresh() },
                button(R.string.delete_enrollment, busy = true) { delete() },
            )
        } else {
            arrayOf(button(R.string.enroll_again) { enrollAgain() })
        }
        return column(text(line), *hands.toTypedArray(), *actions, button(R.string.logout, busy = true) { logout() })
    }

    private fun handButton(hand: Hand, captured: List<Hand>): Button {
        val done = hand in captured
        val label = when (hand) {
            Hand.LEFT -> if (done) R.string.captured_left else R.string.capture_left
            Hand.RIGHT -> if (done) R.string.captured_right else R.string.capture_right
        }
        return button(label) { startCapture(hand) }.apply { isEnabled = !done }
    }

    private fun failureText(reason: FailureReason): Int = when (reason) {
        FailureReason.CAPTURE_TIMED_OUT -> R.string.failed_capture
        FailureReason.SPOOF_SUSPECTED -> R.string.failed_spoof
        FailureReason.OFFLINE -> R.string.failed_offline
        FailureReason.SERVICE_UNAVAILABLE -> R.string.failed_busy
        FailureReason.UNTRUSTED_SERVER -> R.string.failed_untrusted
        FailureReason.REJECTED -> R.string.failed_rejected
        FailureReason.OTHER -> R.string.failed_other
    }

    private fun HandStatus.label(): String = when (this) {
        HandStatus.NOT_CAPTURED -> "not captured"
        HandStatus.CAPTURED -> "captured"
        HandStatus.UPLOADED -> "sent"
        HandStatus.PENDING_MATCH -> "pending store match"
        HandStatus.ACTIVE -> "active"
        HandStatus.FAILED -> "failed"
    }

    // Small builders.

    private fun column(vararg children: View): LinearLayout {
        val column = LinearLayout(activity).apply {
            orientation = LinearLayout.VERTICAL
            setPadding(48, 48, 48, 48)
        }
        children.forEach { column.addView(it, LinearLayout.LayoutParams(MATCH, WRAP).apply { topMargin = 16 }) }
        val note = TextView(activity).apply { visibility = View.GONE }
        notice = note
        column.addView(note)
        return column
    }

    private fun title(id: Int) = TextView(activity).apply {
        setText(id)
        textSize = 26f
        isFocusable = true
        isAccessibilityHeading = true
    }

    private fun text(id: Int) = text(activity.getString(id))

    private fun text(value: String) = TextView(activity).apply {
        text = value
        textSize = 17f
    }

    private fun field(hint: Int, type: Int) = EditText(activity).apply {
        setHint(hint)
        inputType = type
        contentDescription = activity.getString(hint)
    }

    private fun button(id: Int, busy: Boolean = false, hint: Int? = null, work: suspend EnrollmentFlow.() -> Unit) =
        Button(activity).apply {
            setText(id)
            hint?.let { tooltipText = activity.getString(it) }
            setOnClickListener { act(work) }
            if (busy) busyButtons.add(this)
        }

    private companion object {
        const val MATCH = ViewGroup.LayoutParams.MATCH_PARENT
        const val WRAP = ViewGroup.LayoutParams.WRAP_CONTENT
    }
}
