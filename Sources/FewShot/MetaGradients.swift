import NN
import TensorCore

/// The first-order MAML++ gradients of one meta-batch (see `MetaLearner.gradients`), with what was measured
/// on the way.
public struct MetaGradients {
    /// The outer gradient of each trainable tensor, in `LearnedStepRates.names` order.
    public let parameters: [Tensor]
    /// The gradient of each tensor's S learning rates, shape [S], in the same order.
    public let rates: [Tensor]
    /// The outer loss: over tasks, the mean of Σ_s w_s (mean query loss at θ_{s+1}).
    public let outerLoss: Float
    /// Per task, the support loss at θ_0 ... θ_{S-1}.
    public let supportLosses: [[Float]]
    /// Per task, the mean query loss at θ_1 ... θ_S (nil where the step's weight is 0 and it was not computed).
    public let queryLosses: [[Float?]]
    /// Per task, θ' = θ_S.
    public let adapted: [ParameterSnapshot]

    public init(parameters: [Tensor], rates: [Tensor], outerLoss: Float, supportLosses: [[Float]], queryLosses: [[Float?]],
                adapted: [ParameterSnapshot]) {
        (self.parameters, self.rates, self.outerLoss) = (parameters, rates, outerLoss)
        (self.supportLosses, self.queryLosses, self.adapted) = (supportLosses, queryLosses, adapted)
    }
}
