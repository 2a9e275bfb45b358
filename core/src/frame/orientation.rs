//! From sensor to upright: the clockwise rotation that makes the sensor's picture upright
//! (Android's `rotationDegrees`, iOS's video orientation), then an optional horizontal
//! mirror (the front camera's preview).

use super::FrameError;

/// A clockwise quarter-turn count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rotation {
    /// Upright as is.
    #[default]
    Deg0,
    /// Turn 90 degrees clockwise.
    Deg90,
    /// Turn half round.
    Deg180,
    /// Turn 270 degrees clockwise.
    Deg270,
}

impl Rotation {
    /// From degrees (0, 90, 180, 270; 360 and negatives are refused as a sign of a bug).
    pub fn from_degrees(degrees: u32) -> Result<Self, FrameError> {
        match degrees {
            0 => Ok(Self::Deg0),
            90 => Ok(Self::Deg90),
            180 => Ok(Self::Deg180),
            270 => Ok(Self::Deg270),
            other => Err(FrameError::BadRotation(other)),
        }
    }
}

/// How the sensor picture becomes upright.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Orientation {
    /// Clockwise rotation applied first.
    pub rotation: Rotation,
    /// Mirror left-right after rotating.
    pub mirrored: bool,
}

impl Orientation {
    /// Upright size of a `width` x `height` sensor picture.
    pub fn upright_size(self, width: u32, height: u32) -> (u32, u32) {
        match self.rotation {
            Rotation::Deg0 | Rotation::Deg180 => (width, height),
            Rotation::Deg90 | Rotation::Deg270 => (height, width),
        }
    }

    /// The sensor pixel shown at upright (`ux`, `uy`).
    #[inline]
    pub fn to_sensor(self, ux: u32, uy: u32, width: u32, height: u32) -> (u32, u32) {
        let (uw, _) = self.upright_size(width, height);
        let ux = if self.mirrored {
            uw.saturating_sub(1).saturating_sub(ux)
        } else {
            ux
        };
        match self.rotation {
            Rotation::Deg0 => (ux, uy),
            // Turning the sensor picture clockwise: the upright top row is the sensor's
            // left column, read bottom to top.
            Rotation::Deg90 => (uy, height.saturating_sub(1).saturating_sub(ux)),
            Rotation::Deg180 => (
                width.saturating_sub(1).saturating_sub(ux),
                height.saturating_sub(1).saturating_sub(uy),
            ),
            Rotation::Deg270 => (width.saturating_sub(1).saturating_sub(uy), ux),
        }
    }
}
