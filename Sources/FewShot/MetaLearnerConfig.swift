import Diagnostics

/// The meta-learner's settings (`shared/design/ssm-sam.md`, Optimisation), with the design's defaults.
/// Written into the training state, so a resumed run checks it continues the same run.
public struct MetaLearnerConfig: Codable, Equatable, Sendable {
    /// Tasks (training organs) per meta-batch, T.
    public var tasksPerBatch = 3
    /// Support pairs per task, K (1-shot).
    public var supportShots = 1
    /// Query pairs per task, K' (other slices of the support's chunk).
    public var queryShots = 2
    /// Inner steps S.
    public var innerSteps = 5
    /// Initial inner learning rate alpha of every LSLR rate.
    public var innerRate: Float = 1e-3
    /// Epochs; the outer rate follows CosineAnnealingLR(T_max = epochs, eta_min = minOuterRate).
    public var epochs = 50
    /// Meta-batches per epoch (Algorithm 2: one).
    public var batchesPerEpoch = 1
    /// Epochs over which the multi-step loss weights anneal to the last step, E.
    public var annealingEpochs = 10
    /// AdamW of the outer loop (it also learns the LSLR rates).
    public var outerRate: Float = 2e-4
    public var beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01
    public var minOuterRate: Float = 1e-7
    /// Plain BCE + IoU instead of balanced BCE + IoU.
    public var plainBCE = false
    /// The run's seed: every epoch's episodes come from a stream derived from it and the epoch.
    public var seed: UInt64 = 0
    /// true: the inner rates stay at `innerRate` (not learned). With one inner step and `innerRate` 0 the
    /// outer loss is the queries' loss at θ itself: plain episodic training of the heads, the pretraining of
    /// the "w/o MAML++" rows (`meta-train --no-meta`). nil (older states) means false.
    public var ratesFrozen: Bool?

    public init() {}

    /// Throws naming the first setting out of range.
    public func validate() throws {
        func need(_ ok: Bool, _ what: String) throws {
            if !ok { throw ToolkitError(.invalidArgument, subject: "meta-learner", what) }
        }
        try need(tasksPerBatch >= 1, "tasks per batch must be >= 1, got \(tasksPerBatch)")
        try need(supportShots >= 1, "support shots must be >= 1, got \(supportShots)")
        try need(queryShots >= 1, "query shots must be >= 1, got \(queryShots)")
        try need(innerSteps >= 1, "inner steps must be >= 1, got \(innerSteps)")
        try need(innerRate >= 0 && innerRate.isFinite, "the inner rate must be finite and >= 0, got \(innerRate)")
        try need(epochs >= 1, "epochs must be >= 1, got \(epochs)")
        try need(batchesPerEpoch >= 1, "batches per epoch must be >= 1, got \(batchesPerEpoch)")
        try need(annealingEpochs >= 0, "annealing epochs must be >= 0, got \(annealingEpochs)")
        try need(outerRate > 0 && outerRate.isFinite, "the outer rate must be positive, got \(outerRate)")
        try need(minOuterRate >= 0 && minOuterRate <= outerRate, "the minimum outer rate must be in [0, outer rate], got \(minOuterRate)")
        try need(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "AdamW betas must be in [0, 1), got \(beta1), \(beta2)")
        try need(eps > 0 && weightDecay >= 0, "AdamW needs eps > 0 and weight decay >= 0, got \(eps), \(weightDecay)")
    }
}
