/*
 * The one Activity: renders the flow's screen, forwards the redirect intent, the camera
 * permission answer and the lifecycle to it, and keeps sensitive screens out of screenshots
 * and the recents thumbnail (FLAG_SECURE while the camera or the card form shows).
 */
package com.palmkit.app

import android.Manifest
import android.app.Activity
import android.content.Intent
import android.content.pm.PackageManager
import android.os.Bundle
import android.view.WindowManager
import android.widget.FrameLayout
import com.palmkit.app.flow.CameraAccess
import com.palmkit.app.flow.FlowUi
import com.palmkit.app.ui.ScreenViews
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch

class MainActivity : Activity() {
    private val app get() = application as PalmKitApplication
    private var scope: CoroutineScope? = null
    private var pendingRedirect: String? = null
    private var permission: CompletableDeferred<CameraAccess>? = null
    private lateinit var container: FrameLayout
    private lateinit var views: ScreenViews

    /** The screen drawn last (tests read it). */
    var rendered: FlowUi? = null
        private set

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        container = FrameLayout(this)
        setContentView(container)
        app.activity = this
        views = ScreenViews(this, container)
        // A recreated Activity (rotation) still holds the intent that launched it: its
        // redirect was handled the first time.
        if (savedInstanceState == null) pendingRedirect = intent?.data?.toString()
    }

    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        setIntent(intent)
        val uri = intent.data?.toString() ?: return
        val flow = app.flow ?: return
        if (scope != null) views.launch { flow.onRedirect(uri) } else pendingRedirect = uri
    }

    override fun onStart() {
        super.onStart()
        app.activity = this
        val flow = app.flow
        if (flow == null) {
            views.showError(app.startupError ?: "PalmKit cannot start.")
            return
        }
        views.flow = flow
        val main = CoroutineScope(SupervisorJob() + mainExecutor.asCoroutineDispatcher())
        scope = main
        main.launch { flow.ui.collect { render(it) } }
        // Steps that may run long (a resumed upload) go to the views' scope, which a stop
        // does not cancel; only the rendering is tied to this start.
        val redirect = pendingRedirect.also { pendingRedirect = null }
        views.launch {
            if (flow.ui.value.screen == com.palmkit.app.flow.Screen.Starting) flow.start() else flow.onForeground()
            redirect?.let { flow.onRedirect(it) }
        }
    }

    override fun onStop() {
        // A rotation recreates the Activity: the camera is released either way, an upload
        // goes on only through a recreation.
        app.flow?.onBackground(pauseUpload = !isChangingConfigurations)
        scope?.cancel()
        scope = null
        super.onStop()
    }

    override fun onDestroy() {
        if (app.activity === this) app.activity = null
        super.onDestroy()
    }

    private fun render(ui: FlowUi) {
        if (ui.screen.isSensitive) {
            window.addFlags(WindowManager.LayoutParams.FLAG_SECURE)
        } else {
            window.clearFlags(WindowManager.LayoutParams.FLAG_SECURE)
        }
        views.render(ui)
        rendered = ui
    }

    /** The camera permission: granted, or asked once through the system dialog. */
    suspend fun requestCamera(): CameraAccess {
        if (checkSelfPermission(Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED) return CameraAccess.GRANTED
        val answer = CompletableDeferred<CameraAccess>()
        permission = answer
        requestPermissions(arrayOf(Manifest.permission.CAMERA), CAMERA_REQUEST)
        return answer.await()
    }

    override fun onRequestPermissionsResult(requestCode: Int, permissions: Array<out String>, grantResults: IntArray) {
        super.onRequestPermissionsResult(requestCode, permissions, grantResults)
        if (requestCode != CAMERA_REQUEST) return
        val granted = grantResults.isNotEmpty() && grantResults[0] == PackageManager.PERMISSION_GRANTED
        permission?.complete(if (granted) CameraAccess.GRANTED else CameraAccess.DENIED)
        permission = null
    }

    private companion object {
        const val CAMERA_REQUEST = 7
    }
}
