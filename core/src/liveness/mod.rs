//! Spoof detection in layers (capture integrity, screen replay, print, 3-D motion, active
//! challenge), each with a score, a threshold and a reason, combined into a `SpoofVerdict`.
//!
//! Not built yet: issue 7 ("Spoof detection in layers") fills this module.
