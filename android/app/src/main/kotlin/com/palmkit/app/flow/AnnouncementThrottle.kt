/*
 * Which guidance changes TalkBack hears: a change from the last one announced, at least
 * [minimumGapMs] after it; a capture always. Frames arrive 15-30 times a second and the
 * guidance can flicker between two codes.
 */
package com.palmkit.app.flow

import com.palmkit.core.model.GuidanceCode

class AnnouncementThrottle(val minimumGapMs: Long = 2_000) {
    private var last: GuidanceCode? = null
    private var lastAt: Long? = null

    @Synchronized
    fun shouldAnnounce(guidance: GuidanceCode, nowMs: Long): Boolean {
        if (guidance == last) return false
        val at = lastAt
        if (guidance != GuidanceCode.CAPTURED && at != null && nowMs < at + minimumGapMs) return false
        last = guidance
        lastAt = nowMs
        return true
    }

    @Synchronized
    fun reset() {
        last = null
        lastAt = null
    }
}
