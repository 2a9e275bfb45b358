/*
 * The small platform services: TalkBack announcements, the capture tick, the browser, and
 * the core's logs in logcat.
 */
package com.palmkit.app.platform

import android.content.ActivityNotFoundException
import android.content.Context
import android.content.Intent
import android.net.Uri
import android.os.Build
import android.os.Handler
import android.os.Looper
import android.os.VibrationEffect
import android.os.Vibrator
import android.util.Log
import android.view.View
import com.palmkit.app.flow.Announcer
import com.palmkit.app.flow.Browser
import com.palmkit.app.flow.Haptics
import com.palmkit.core.LogLevel
import com.palmkit.core.LogSink

/** Announces on the Activity's current root view (posted to the main thread). */
class TalkBackAnnouncer(private val rootView: () -> View?) : Announcer {
    private val main = Handler(Looper.getMainLooper())
    override fun announce(text: String) {
        main.post { rootView()?.announceForAccessibility(text) }
    }
}

class VibratorHaptics(context: Context) : Haptics {
    private val vibrator = context.getSystemService(Vibrator::class.java)
    override fun captured() {
        val effect = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.Q) {
            VibrationEffect.createPredefined(VibrationEffect.EFFECT_TICK)
        } else {
            VibrationEffect.createOneShot(20, VibrationEffect.DEFAULT_AMPLITUDE)
        }
        vibrator?.vibrate(effect)
    }
}

/** The login page (and a bank's card confirmation) in the shopper's browser. */
class SystemBrowser(private val context: Context, private val onMissing: (String) -> Unit) : Browser {
    override fun open(url: String) {
        val intent = Intent(Intent.ACTION_VIEW, Uri.parse(url))
            .addCategory(Intent.CATEGORY_BROWSABLE)
            .addFlags(Intent.FLAG_ACTIVITY_NEW_TASK)
        try {
            context.startActivity(intent)
        } catch (e: ActivityNotFoundException) {
            onMissing("no browser is installed")
        }
    }
}

/** The core's log events in logcat under the tag PalmKit (the core logs no secret, no image). */
class LogcatSink : LogSink {
    override fun log(level: LogLevel, target: String, message: String) {
        val line = "$target: $message"
        when (level) {
            LogLevel.ERROR -> Log.e("PalmKit", line)
            LogLevel.WARN -> Log.w("PalmKit", line)
            LogLevel.INFO -> Log.i("PalmKit", line)
            LogLevel.DEBUG, LogLevel.TRACE -> Log.d("PalmKit", line)
        }
    }
}
