// Which guidance changes are spoken. Frames arrive 15-30 times a second and the guidance can
// flicker between two codes; VoiceOver must hear each change, but not a stream of them.

import PalmKit

/// Decides whether a guidance is announced: a change from the last one announced, at least
/// `minimumGapMs` after it; a capture is always announced.
public struct AnnouncementThrottle: Sendable {
    public let minimumGapMs: UInt64
    private var last: GuidanceCode?
    private var lastAt: UInt64?

    public init(minimumGapMs: UInt64 = 2_000) {
        self.minimumGapMs = minimumGapMs
    }

    /// Call for every frame's guidance; true when it should be spoken now.
    public mutating func shouldAnnounce(_ guidance: GuidanceCode, atMs now: UInt64) -> Bool {
        if guidance == last { return false }
        if guidance != .captured, let lastAt, now < lastAt + minimumGapMs { return false }
        last = guidance
        lastAt = now
        return true
    }

    /// Forget the last announcement (a new capture starts).
    public mutating func reset() {
        last = nil
        lastAt = nil
    }
}
