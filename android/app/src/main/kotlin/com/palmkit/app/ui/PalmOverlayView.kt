/*
 * The palm outline over the camera preview: dashed white while guiding, solid green when
 * every check passes.
 */
package com.palmkit.app.ui

import android.content.Context
import android.graphics.Canvas
import android.graphics.Color
import android.graphics.DashPathEffect
import android.graphics.Paint
import android.graphics.RectF
import android.view.View

class PalmOverlayView(context: Context) : View(context) {
    private val paint = Paint(Paint.ANTI_ALIAS_FLAG).apply {
        style = Paint.Style.STROKE
        strokeWidth = 8f
    }
    private val dash = DashPathEffect(floatArrayOf(36f, 24f), 0f)
    private val outline = RectF()

    /** Every check passes on the latest frame. */
    var ready: Boolean = false
        set(value) {
            if (field != value) {
                field = value
                invalidate()
            }
        }

    override fun onDraw(canvas: Canvas) {
        super.onDraw(canvas)
        val w = width * 0.7f
        val h = w * 1.25f
        val left = (width - w) / 2
        val top = height * 0.45f - h / 2
        outline.set(left, top, left + w, top + h)
        paint.color = if (ready) Color.GREEN else Color.WHITE
        paint.pathEffect = if (ready) null else dash
        canvas.drawRoundRect(outline, w * 0.3f, w * 0.3f, paint)
    }
}
