//! Per-frame quality measures (sharpness, exposure, glare, noise, motion, palm size,
//! centring, tilt, fingers spread, palm-vs-back, which hand) turned into one `Guidance` per
//! frame with hysteresis, the auto-capture decision and best-frame selection.
//!
//! Not built yet: issue 3 ("Camera frame analysis") fills this module.
