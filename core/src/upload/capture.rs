//! A capture ready to seal: its image bytes (wiped when dropped), the metadata the
//! service may read without opening it, and the spoof verdict sealed beside it.

use std::io::Cursor;
use std::time::{SystemTime, UNIX_EPOCH};

use zeroize::Zeroizing;

use crate::error::UploadFailure;
use crate::protocol::{CaptureMetadata, CaptureSource, SpoofMetadata};
use crate::upload::envelope::{self, AeadSuite, EnvelopeError, SealContext, SealedEnvelope};
use crate::upload::sealed_verdict;

/// An encoded palm image (JPEG or PNG) in memory only.
pub struct Capture {
    image: Zeroizing<Vec<u8>>,
    metadata: CaptureMetadata,
    /// The spoof verdict, sealed into `metadata.sealed_spoof` when the context is known.
    spoof: Option<SpoofMetadata>,
}

impl Capture {
    /// Checks that `image` is a JPEG or PNG (reading its header only) and describes it.
    /// The bytes are taken over and wiped when the capture is dropped, also on error.
    pub fn new(image: Zeroizing<Vec<u8>>, source: CaptureSource) -> Result<Self, UploadFailure> {
        let reader = image::ImageReader::new(Cursor::new(image.as_slice()))
            .with_guessed_format()
            .map_err(|e| UploadFailure::InvalidCapture(e.to_string()))?;
        let media_type = match reader.format() {
            Some(image::ImageFormat::Jpeg) => "image/jpeg",
            Some(image::ImageFormat::Png) => "image/png",
            _ => {
                return Err(UploadFailure::InvalidCapture(
                    "the bytes are not a JPEG or PNG image".into(),
                ));
            }
        };
        let (width, height) = reader
            .into_dimensions()
            .map_err(|e| UploadFailure::InvalidCapture(format!("unreadable image header: {e}")))?;
        let captured_at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let metadata = CaptureMetadata {
            media_type: media_type.into(),
            width,
            height,
            captured_at_ms,
            source,
            sealed_spoof: None,
        };
        Ok(Self {
            image,
            metadata,
            spoof: None,
        })
    }

    /// Adds the spoof verdict under which the capture was taken: sealed to the service key
    /// with the capture ([`crate::upload::sealed_verdict`]), its ciphertext in the metadata,
    /// which the envelope's AAD binds to the image.
    pub fn with_spoof(mut self, verdict: &crate::liveness::SpoofVerdict) -> Self {
        self.spoof = Some(verdict.into());
        self
    }

    /// The spoof verdict that goes with the capture, before sealing.
    pub fn spoof(&self) -> Option<&SpoofMetadata> {
        self.spoof.as_ref()
    }

    /// The image bytes.
    pub fn image(&self) -> &[u8] {
        &self.image
    }

    /// What the service may know without opening the envelope.
    pub fn metadata(&self) -> &CaptureMetadata {
        &self.metadata
    }

    /// Seals the capture for `context`: the image buffer is encrypted in place and becomes
    /// the envelope's ciphertext, so no plaintext copy is left behind.
    pub fn seal(
        mut self,
        context: &SealContext<'_>,
        service_public_key: &[u8; 32],
        aead: AeadSuite,
    ) -> Result<SealedEnvelope, EnvelopeError> {
        if let Some(verdict) = &self.spoof {
            self.metadata.sealed_spoof = Some(sealed_verdict::seal(
                verdict,
                context,
                service_public_key,
                aead,
            )?);
        }
        let metadata = self.metadata_json();
        envelope::seal_in_place(self.image, &metadata, context, service_public_key, aead)
    }

    /// The metadata as it goes into the envelope header (the verdict appears there only
    /// once [`Capture::seal`] has sealed it).
    pub fn metadata_json(&self) -> Vec<u8> {
        // Serialising this struct of strings and numbers cannot fail.
        serde_json::to_vec(&self.metadata).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let img = image::RgbImage::from_pixel(width, height, image::Rgb([200, 150, 120]));
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn describes_a_png() {
        let c = Capture::new(Zeroizing::new(png(7, 5)), CaptureSource::File).unwrap();
        assert_eq!(c.metadata().media_type, "image/png");
        assert_eq!((c.metadata().width, c.metadata().height), (7, 5));
        let json: serde_json::Value = serde_json::from_slice(&c.metadata_json()).unwrap();
        assert_eq!(json["source"], "file");
    }

    #[test]
    fn refuses_what_is_not_an_image() {
        for bytes in [b"GIF89a....".to_vec(), Vec::new(), png(3, 3)[..20].to_vec()] {
            let err = Capture::new(Zeroizing::new(bytes), CaptureSource::Camera).err();
            assert!(
                matches!(err, Some(UploadFailure::InvalidCapture(_))),
                "{err:?}"
            );
        }
    }
}
