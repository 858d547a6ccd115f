/// What one meta-training epoch measured (the run's loss curve; kept in the training state).
public struct EpochRecord: Codable, Equatable, Sendable {
    /// The epoch, 0-based.
    public let epoch: Int
    /// The outer (AdamW) learning rate of the epoch.
    public let learningRate: Float
    /// The multi-step loss weights of the epoch.
    public let weights: [Float]
    /// Mean over the epoch's tasks of the support loss at θ (before adaptation).
    public let supportLoss: Float
    /// Mean over the epoch's tasks of the query loss at θ' (after the last inner step).
    public let queryLoss: Float
    /// Mean over the epoch's meta-batches of the weighted outer loss that was minimised.
    public let outerLoss: Float
    /// The validation of the model after this epoch (nil: no validation split).
    public var validation: ValidationResult?

    public init(epoch: Int, learningRate: Float, weights: [Float], supportLoss: Float, queryLoss: Float, outerLoss: Float) {
        (self.epoch, self.learningRate, self.weights) = (epoch, learningRate, weights)
        (self.supportLoss, self.queryLoss, self.outerLoss) = (supportLoss, queryLoss, outerLoss)
    }
}
