//! The error type of lisse-smoothing.

/// Everything that can go wrong while certifying: bad parameters (wrapped
/// [`lisse_core::Error`]) or a base classifier that breaks its contract.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A parameter, dimension or file problem, from lisse-core's error type.
    #[error(transparent)]
    Core(#[from] lisse_core::Error),
    /// The classifier produced a different number of scores than it declares classes.
    #[error(
        "the base classifier returned {got} scores for one input but declares {expected} classes; \
         make num_classes() equal the length of the model's output layer"
    )]
    ClassCount {
        /// `num_classes()` of the classifier.
        expected: usize,
        /// The number of scores it returned.
        got: usize,
    },
    /// A hard-label classifier returned a label outside `0..num_classes`.
    #[error(
        "the base classifier returned label {label} but declares {num_classes} classes; labels \
         must lie in 0..num_classes"
    )]
    LabelOutOfRange {
        /// The label returned.
        label: usize,
        /// `num_classes()` of the classifier.
        num_classes: usize,
    },
    /// The classifier produced a NaN or infinite score.
    #[error(
        "the base classifier returned the non-finite score {value} for class {class} of a noisy \
         sample; check the model's weights and that σ is given in the model's input units"
    )]
    NonFiniteScore {
        /// The class whose score was not finite.
        class: usize,
        /// The score.
        value: f64,
    },
    /// A user-supplied classifier reported its own failure.
    #[error("the base classifier failed: {0}")]
    Classifier(String),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
