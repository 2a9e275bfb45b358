//! The verdict over all layers: any layer that fails makes it `fail`; otherwise any layer
//! that applies and is unsure makes it `challenge` (ask the shopper to move their hand),
//! unless the active challenge has been met, which settles what the passive layers could
//! not; otherwise `pass`. Layers that do not apply (live-frame layers on a still file) do not
//! count. The verdict keeps every layer's report, so the reasons travel with it — to the
//! app, to QA's reports, and sealed into the upload for the service.

use serde::Serialize;

use super::{Layer, LayerReport, Outcome};

/// The decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Verdict {
    /// Every applicable layer passed.
    Pass,
    /// A layer found an attack.
    Fail,
    /// No layer failed but one could not tell: an active challenge decides.
    Challenge,
}

impl Verdict {
    /// Its name in reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Challenge => "challenge",
        }
    }
}

/// The verdict and the reports it came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SpoofVerdict {
    /// The decision.
    pub verdict: Verdict,
    /// Every layer's report, in layer order.
    pub layers: Vec<LayerReport>,
}

impl SpoofVerdict {
    /// Combines `layers`.
    pub fn combine(layers: Vec<LayerReport>) -> Self {
        let any = |o: Outcome| layers.iter().any(|l| l.outcome == o);
        let challenge_met = layers
            .iter()
            .any(|l| l.layer == Layer::Challenge && l.outcome == Outcome::Pass);
        let verdict = if any(Outcome::Fail) {
            Verdict::Fail
        } else if any(Outcome::Unsure) && !challenge_met {
            Verdict::Challenge
        } else {
            Verdict::Pass
        };
        Self { verdict, layers }
    }

    /// The reasons that decided it: the failing layers' (fail), the unsure ones'
    /// (challenge), or none (pass).
    pub fn reasons(&self) -> Vec<&str> {
        let deciding = match self.verdict {
            Verdict::Fail => Outcome::Fail,
            Verdict::Challenge => Outcome::Unsure,
            Verdict::Pass => return Vec::new(),
        };
        self.layers
            .iter()
            .filter(|l| l.outcome == deciding)
            .map(|l| l.reason.as_str())
            .collect()
    }

    /// The report of `layer`, if present.
    pub fn layer(&self, layer: &str) -> Option<&LayerReport> {
        self.layers.iter().find(|l| l.layer.name() == layer)
    }
}

impl From<&SpoofVerdict> for crate::protocol::SpoofMetadata {
    fn from(v: &SpoofVerdict) -> Self {
        Self {
            verdict: v.verdict.name().into(),
            layers: v
                .layers
                .iter()
                .map(|l| crate::protocol::SpoofLayerMetadata {
                    layer: l.layer.name().into(),
                    outcome: l.outcome.name().into(),
                    score: l.score,
                    threshold: l.threshold,
                    reason: l.reason.clone(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(layer: Layer, outcome: Outcome) -> LayerReport {
        LayerReport::new(layer, 0.5, 1.0, outcome, format!("{layer} said so"))
    }

    #[test]
    fn a_failing_layer_decides_over_unsure_and_pass() {
        let v = SpoofVerdict::combine(vec![
            report(Layer::ScreenReplay, Outcome::Pass),
            report(Layer::Print, Outcome::Unsure),
            report(Layer::Motion3d, Outcome::Fail),
        ]);
        assert_eq!(v.verdict, Verdict::Fail);
        assert_eq!(v.reasons(), ["motion_3d said so"]);
    }

    #[test]
    fn unsure_without_a_failure_asks_for_a_challenge() {
        let v = SpoofVerdict::combine(vec![
            report(Layer::ScreenReplay, Outcome::Pass),
            report(Layer::Print, Outcome::Unsure),
        ]);
        assert_eq!(v.verdict, Verdict::Challenge);
        assert_eq!(v.reasons(), ["print said so"]);
    }

    #[test]
    fn a_met_challenge_settles_unsure_layers_but_not_a_failure() {
        let v = SpoofVerdict::combine(vec![
            report(Layer::Motion3d, Outcome::Unsure),
            report(Layer::Challenge, Outcome::Pass),
        ]);
        assert_eq!(v.verdict, Verdict::Pass);
        let v = SpoofVerdict::combine(vec![
            report(Layer::ScreenReplay, Outcome::Fail),
            report(Layer::Challenge, Outcome::Pass),
        ]);
        assert_eq!(v.verdict, Verdict::Fail);
    }

    #[test]
    fn layers_that_do_not_apply_do_not_count() {
        let v = SpoofVerdict::combine(vec![
            report(Layer::ScreenReplay, Outcome::Pass),
            report(Layer::Print, Outcome::NotApplicable),
        ]);
        assert_eq!(v.verdict, Verdict::Pass);
        assert!(v.reasons().is_empty());
        assert_eq!(
            v.layer("print").map(|l| l.outcome),
            Some(Outcome::NotApplicable)
        );
    }
}
