//! The palm detector's SSD anchors (MediaPipe's SsdAnchorsCalculator with the palm
//! detection options): 4 layers, strides 8, 16, 16, 16 on a 192x192 input, fixed anchor
//! size, 2 anchors per layer and cell; layers of equal stride share their grid, so stride
//! 8 gives 24x24x2 and stride 16 gives 12x12x6: 2016 anchors, row by row.

/// An anchor centre in [0, 1] input coordinates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Anchor {
    pub x: f32,
    pub y: f32,
}

/// The 2016 anchors of the 192x192 palm detector, in output order.
pub(crate) fn palm_anchors() -> Vec<Anchor> {
    const INPUT: usize = 192;
    let strides = [8usize, 16, 16, 16];
    let mut anchors = Vec::with_capacity(2016);
    let mut layer = 0;
    while layer < strides.len() {
        // Consecutive layers with the same stride share one grid.
        let mut per_cell = 0;
        let stride = strides[layer];
        while layer < strides.len() && strides[layer] == stride {
            per_cell += 2; // one aspect ratio (1.0) plus the interpolated scale
            layer += 1;
        }
        let cells = INPUT.div_ceil(stride);
        for y in 0..cells {
            for x in 0..cells {
                for _ in 0..per_cell {
                    anchors.push(Anchor {
                        x: (x as f32 + 0.5) / cells as f32,
                        y: (y as f32 + 0.5) / cells as f32,
                    });
                }
            }
        }
    }
    anchors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_2016_anchors_on_two_grids() {
        let a = palm_anchors();
        assert_eq!(a.len(), 2016);
        assert_eq!(
            a[0],
            Anchor {
                x: 0.5 / 24.0,
                y: 0.5 / 24.0
            }
        );
        assert_eq!(a[1], a[0]);
        assert_eq!(a[2].x, 1.5 / 24.0);
        // First anchor of the stride-16 grid, six per cell.
        assert_eq!(
            a[1152],
            Anchor {
                x: 0.5 / 12.0,
                y: 0.5 / 12.0
            }
        );
        assert_eq!(a[1157], a[1152]);
        assert_eq!(a[1158].x, 1.5 / 12.0);
        assert_eq!(
            a[2015],
            Anchor {
                x: 11.5 / 12.0,
                y: 11.5 / 12.0
            }
        );
    }
}
