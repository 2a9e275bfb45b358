//! The hand models (MediaPipe palm detector and 21-point hand landmarks, converted to ONNX)
//! run by tract-onnx: anchor decoding, NMS, the rotated landmark crop, and tracking between
//! frames so the detector only runs when the hand is lost.
//!
//! Not built yet: issue 3 ("Camera frame analysis") fills this module.
