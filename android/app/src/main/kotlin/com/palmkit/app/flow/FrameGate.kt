/*
 * Back-pressure on the camera path: at most one frame is analyzed at a time; a frame that
 * arrives meanwhile is dropped (closed at once, never queued: a queued frame is stale
 * guidance). Also closed when no capture runs.
 */
package com.palmkit.app.flow

import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger

class FrameGate {
    private val open = AtomicBoolean(false)
    private val busy = AtomicBoolean(false)
    private val analyzedCount = AtomicInteger()
    private val droppedCount = AtomicInteger()

    fun open() = open.set(true)

    fun close() = open.set(false)

    /** True when this frame may be analyzed now; then [leave] must follow. */
    fun tryEnter(): Boolean {
        if (!open.get() || !busy.compareAndSet(false, true)) {
            droppedCount.incrementAndGet()
            return false
        }
        return true
    }

    fun leave() {
        analyzedCount.incrementAndGet()
        busy.set(false)
    }

    val analyzed: Int get() = analyzedCount.get()
    val dropped: Int get() = droppedCount.get()
}
