// Back-pressure on the camera path: at most one frame is analyzed at a time, and a frame
// that arrives meanwhile is dropped, never queued (a queued frame is stale guidance). The
// camera's own `alwaysDiscardsLateVideoFrames` drops on its side; this gate also stops
// frames that arrive after the capture ended or the app left the foreground.

import Foundation

/// A thread-safe open/closed, busy/idle gate with counters.
public final class FrameGate: @unchecked Sendable {
    private let lock = NSLock()
    private var open = false
    private var busy = false
    private var analyzedCount = 0
    private var droppedCount = 0

    public init() {}

    /// Lets frames in (a capture started).
    public func openGate() { lock.withLock { open = true } }

    /// Turns every frame away (captured, cancelled, backgrounded).
    public func close() { lock.withLock { open = false } }

    /// True when this frame may be analyzed now; then `leave()` must follow.
    public func tryEnter() -> Bool {
        lock.withLock {
            guard open, !busy else {
                droppedCount += 1
                return false
            }
            busy = true
            return true
        }
    }

    /// The analysis of the admitted frame ended.
    public func leave() {
        lock.withLock {
            busy = false
            analyzedCount += 1
        }
    }

    /// Frames analyzed and frames dropped since the gate was made.
    public var counts: (analyzed: Int, dropped: Int) {
        lock.withLock { (analyzedCount, droppedCount) }
    }
}
