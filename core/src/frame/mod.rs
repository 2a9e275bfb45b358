//! Camera frame views: NV21, YUV_420_888 with row and pixel strides (Android), BGRA8888
//! (iOS), RGB8/RGBA8 and decoded images on the desktop; rotation, mirroring, crop and resize,
//! all as zero-copy views over the caller's bytes. Inconsistent buffers become typed errors.
//!
//! Not built yet: issue 3 ("Camera frame analysis") fills this module.
