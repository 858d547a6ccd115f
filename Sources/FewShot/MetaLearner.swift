import Diagnostics
import Foundation
import NN
import SSMSAM
import TensorCore

/// SSM-SAM's offline meta-learner (the paper's Algorithm 2) as MAML++, first order: per meta-batch T tasks
/// (training organs), each adapted by the online optimiser on its K support pairs; after every inner step s
/// the outer loss on its K' query pairs at θ_{s+1}, weighted by the multi-step loss schedule; the first-order
/// outer gradient (taken at the adapted parameters, applied to θ) and the gradient of the learned rates go to
/// one AdamW (lr following cosine annealing over the epochs; its weight decay applies to the rates too, as in
/// the twin); the rates are then clamped to >= 0.
///
/// Second-order MAML (differentiating through the inner gradients) is out of scope.
///
/// ## The first-order gradients
/// Per task, with support loss L and query loss Q (means over the pairs), step rates α_{s,t} per tensor t:
///
///     g_s     = ∇L(θ_s)                       (inner gradient, a constant: no second derivatives)
///     θ_{s+1} = θ_s - α_s ⊙ g_s               (per tensor: θ_{s+1,t} = θ_{s,t} - α_{s,t} g_{s,t})
///     O       = Σ_{s=0}^{S-1} w_s Q(θ_{s+1})  (multi-step loss; w from `MultiStepLossSchedule`)
///
/// First order treats every g_s as a constant, so ∂θ_{s+1}/∂θ = I and, for j <= s, ∂θ_{s+1,t}/∂α_{j,t} = -g_{j,t}
/// (α_j enters every later iterate through θ_{j+1}; it does not enter θ_{s+1} for j > s). With G_s = ∇Q(θ_{s+1}):
///
///     ∂O/∂θ_t     = Σ_s w_s G_{s,t}
///     ∂O/∂α_{j,t} = Σ_{s>=j} w_s <G_{s,t}, ∂θ_{s+1,t}/∂α_{j,t}> = -Σ_{s>=j} w_s <G_{s,t}, g_{j,t}>
///
/// When only the last step counts (w = 0, ..., 0, 1) this is the design note's -<∇Q(θ'), g_j> for every j.
/// The meta-batch's objective is the mean of O over its T tasks, so both gradients are task means. This is
/// exactly what autograd gives on the authors' first-order graph (their `second_order=False`); the PyTorch
/// twin's `meta_gradients` checks it that way (scripts/ssmsam_twin/meta.py).
public final class MetaLearner {
    public let model: SSMSAMModel
    public let rates: LearnedStepRates
    public let config: MetaLearnerConfig
    public let schedule: MultiStepLossSchedule
    public let cosine: CosineAnnealing
    /// The outer optimiser over the trainable parameters then the rates (in `rates.names` order each).
    let optimiser: AdamW
    let inner: OnlineOptimiser
    /// Epochs completed.
    public private(set) var epoch = 0
    /// The completed epochs' records.
    public private(set) var history: [EpochRecord] = []

    /// A learner for `model`'s trainable parameters, with `rates` (default: alpha for every tensor and step).
    public init(model: SSMSAMModel, config: MetaLearnerConfig, rates: LearnedStepRates? = nil) throws {
        try config.validate()
        let rates = try rates ?? LearnedStepRates(model: model, steps: config.innerSteps, alpha: config.innerRate)
        guard rates.steps == config.innerSteps else {
            throw ToolkitError(.mismatch, subject: "LSLR", "the learning rates have \(rates.steps) steps, the config \(config.innerSteps)")
        }
        var online = try OnlineOptimiser(model: model, rates: rates)
        online.plainBCE = config.plainBCE
        inner = online
        (self.model, self.rates, self.config) = (model, rates, config)
        schedule = try MultiStepLossSchedule(steps: config.innerSteps, annealingEpochs: config.annealingEpochs)
        cosine = CosineAnnealing(baseLearningRate: config.outerRate, tMax: config.epochs, etaMin: config.minOuterRate)
        optimiser = AdamW(inner.parameters + (config.ratesFrozen == true ? [] : rates.rates), learningRate: config.outerRate, beta1: config.beta1,
                          beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay)
    }

    /// The online optimiser with the current rates (for adapting at evaluation).
    public var onlineOptimiser: OnlineOptimiser { inner }

    /// Records `result` as the validation of the last completed epoch (kept in the training state).
    public func recordValidation(_ result: ValidationResult) {
        precondition(!history.isEmpty, "no epoch to validate")
        history[history.count - 1].validation = result
    }

    /// The completed epoch whose validation Dice is highest (the earliest among equals), nil without validation.
    public var bestValidatedEpoch: EpochRecord? {
        // `max(by:)` keeps the first of equal elements, and the history is in epoch order.
        history.filter { $0.validation != nil }.max { $0.validation!.dice < $1.validation!.dice }
    }

    /// The first-order gradients of a meta-batch (one episode per task) under epoch `e`'s loss weights. The
    /// model is left at θ.
    public func gradients(_ episodes: [TrainingEpisode], epoch e: Int) throws -> MetaGradients {
        guard !episodes.isEmpty else { throw ToolkitError(.invalidArgument, subject: "meta-batch", "has no tasks") }
        for ep in episodes {
            try PairGradients.require(ep.support, "support of \(ep.organ)")
            try PairGradients.require(ep.queries, "queries of \(ep.organ)")
        }
        let w = schedule.weights(epoch: e), steps = config.innerSteps, n = inner.parameters.count
        let perTask = 1 / Double(episodes.count)
        var outer = inner.parameters.map { Tensor.zeros($0.shape) }
        var rateGrads = [[Double]](repeating: [Double](repeating: 0, count: steps), count: n)
        var outerLoss = 0.0
        var supportLosses: [[Float]] = [], queryLosses: [[Float?]] = [], adapted: [ParameterSnapshot] = []
        let theta = model.snapshot(trainableOnly: true)
        defer { try? model.restore(theta) }
        for ep in episodes {
            try model.restore(theta)
            var g: [[Tensor]] = []  // g_0 ... g_s
            var sLoss: [Float] = [], qLoss: [Float?] = []
            for s in 0..<steps {
                let step = inner.step(s, on: ep.support)  // the model is now at θ_{s+1}
                g.append(step.gradients)
                sLoss.append(step.loss)
                guard w[s] != 0 else { qLoss.append(nil); continue }
                let (q, gq) = PairGradients.meanLoss(ep.queries, model: model, parameters: inner.parameters, plainBCE: config.plainBCE)
                qLoss.append(q)
                outerLoss += perTask * Double(w[s]) * Double(q)
                let scale = Float(perTask) * w[s]
                for t in 0..<n {
                    outer[t].addInPlace(gq[t], scale: scale)
                    for j in 0...s { rateGrads[t][j] -= perTask * Double(w[s]) * Self.dot(gq[t], g[j][t]) }
                }
            }
            supportLosses.append(sLoss)
            queryLosses.append(qLoss)
            adapted.append(model.snapshot(trainableOnly: true))
        }
        return MetaGradients(parameters: outer, rates: rateGrads.map { Tensor(shape: [steps], data: $0.map { Float($0) }) },
                             outerLoss: Float(outerLoss), supportLosses: supportLosses, queryLosses: queryLosses, adapted: adapted)
    }

    /// Applies meta-gradients through AdamW at epoch `e`'s outer rate, then clamps the rates to >= 0.
    public func apply(_ grads: MetaGradients, epoch e: Int) {
        precondition(grads.parameters.count == inner.parameters.count && grads.rates.count == rates.rates.count,
                     "meta-gradients of another model")
        for (p, g) in zip(inner.parameters, grads.parameters) { p.grad = g }
        if config.ratesFrozen != true { for (r, g) in zip(rates.rates, grads.rates) { r.grad = g } }
        optimiser.learningRate = cosine.learningRate(at: e)
        optimiser.step()
        optimiser.zeroGrad()
        rates.clampNonNegative()
    }

    /// One epoch (`config.batchesPerEpoch` meta-batches of `config.tasksPerBatch` tasks from `source`), its
    /// episodes drawn from the stream of (seed, epoch, batch) only. Returns and records the epoch's losses.
    @discardableResult
    public func trainEpoch(_ source: EpisodeSource) throws -> EpochRecord {
        guard epoch >= config.epochs || !source.organs.isEmpty else {
            throw ToolkitError(.invalidArgument, subject: "episodes", "no training organs")
        }
        return try trainEpoch { [config, epoch] b in try Self.batch(b, epoch: epoch, of: source, config: config) }
    }

    /// The episodes of meta-batch `b` of epoch `e`: `config.tasksPerBatch` organs sampled from `source`, each
    /// with its episode, all drawn from the stream of (seed, epoch, batch) only.
    public static func batch(_ b: Int, epoch e: Int, of source: EpisodeSource, config: MetaLearnerConfig) throws -> [TrainingEpisode] {
        var rng = generator(seed: config.seed, epoch: e, batch: b)
        let organs = sample(source.organs, count: config.tasksPerBatch, generator: &rng)
        return try organs.map {
            try source.episode(organ: $0, supportShots: config.supportShots, queryShots: config.queryShots, generator: &rng)
        }
    }

    /// One epoch on given meta-batches: `batch(b)` are the episodes of meta-batch b of this epoch (an episode
    /// plan's). Returns and records the epoch's losses.
    @discardableResult
    public func trainEpoch(batches batch: (Int) throws -> [TrainingEpisode]) throws -> EpochRecord {
        let e = epoch
        guard e < config.epochs else {
            throw ToolkitError(.invalidArgument, subject: "meta-learner", "all \(config.epochs) epochs are done")
        }
        var support = 0.0, query = 0.0, outer = 0.0, tasks = 0
        for b in 0..<config.batchesPerEpoch {
            let episodes = try batch(b)
            let grads = try gradients(episodes, epoch: e)
            apply(grads, epoch: e)
            support += grads.supportLosses.reduce(0) { $0 + Double($1[0]) }
            query += grads.queryLosses.reduce(0) { $0 + Double($1.last!! ) }
            outer += Double(grads.outerLoss)
            tasks += episodes.count
        }
        let record = EpochRecord(epoch: e, learningRate: cosine.learningRate(at: e), weights: schedule.weights(epoch: e),
                                 supportLoss: Float(support / Double(tasks)), queryLoss: Float(query / Double(tasks)),
                                 outerLoss: Float(outer / Double(config.batchesPerEpoch)))
        history.append(record)
        epoch += 1
        return record
    }

    /// The episode stream of a meta-batch: a child of the seed's stream by epoch, then by batch.
    public static func generator(seed: UInt64, epoch: Int, batch: Int) -> SeededGenerator {
        SeededGenerator(seed: seed).generator(index: epoch).generator(index: batch)
    }

    /// `count` organs: without replacement while organs remain, then again from all of them.
    static func sample(_ organs: [String], count: Int, generator: inout SeededGenerator) -> [String] {
        var pool: [String] = [], out: [String] = []
        for _ in 0..<count {
            if pool.isEmpty { pool = organs }
            out.append(pool.remove(at: Int(generator.next() % UInt64(pool.count))))
        }
        return out
    }

    /// <a, b> accumulated in Double.
    static func dot(_ a: Tensor, _ b: Tensor) -> Double {
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                var s = 0.0
                for i in 0..<pa.count { s += Double(pa[i]) * Double(pb[i]) }
                return s
            }
        }
    }

    // MARK: State

    /// The settings that differ, as `name saved vs given`.
    static func differences(_ saved: MetaLearnerConfig, _ given: MetaLearnerConfig) -> String {
        func fields(_ c: MetaLearnerConfig) -> [String: String] {
            let data = (try? JSONEncoder().encode(c)) ?? Data()
            let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
            return json.mapValues { "\($0)" }
        }
        let a = fields(saved), b = fields(given)
        return a.keys.sorted().filter { a[$0] != b[$0] }.map { "\($0) \(a[$0]!) saved vs \(b[$0] ?? "?") given" }.joined(separator: ", ")
    }

    /// The names of the optimiser's parameters: the model's trainable tensors, then their rates (`lslr.*`).
    var optimiserNames: [String] { rates.names + rates.rates.map(\.name) }

    /// Everything a resumed run needs (see `TrainingState`).
    public func state() -> TrainingState {
        TrainingState(config: config, modelConfig: model.config, epoch: epoch, parameters: model.snapshot(trainableOnly: true),
                      rates: rates.values, moments: Dictionary(uniqueKeysWithValues: zip(optimiserNames, optimiser.moments)
                          .compactMap { n, m in m.map { (n, $0) } }),
                      history: history)
    }

    /// Puts a saved state back: θ, the rates, AdamW's moments, the epoch and the history. The state must be of
    /// this config and model; anything else is an error naming what differs.
    public func restore(_ state: TrainingState) throws {
        guard state.config == config else {
            throw ToolkitError(.mismatch, subject: "training state", "was written with other meta-learner settings ("
                               + Self.differences(state.config, config) + "); resume with the same ones")
        }
        guard state.modelConfig == model.config else {
            throw ToolkitError(.mismatch, subject: "training state", "was written for another SSM-SAM configuration")
        }
        try model.restore(state.parameters)
        let want = Set(rates.rates.map(\.name))
        guard Set(state.rates.keys) == want else {
            throw ToolkitError(.mismatch, subject: "training state", "its learning rates do not name the model's trainable parameters")
        }
        for r in rates.rates {
            let v = state.rates[r.name]!
            guard v.shape == r.shape else {
                throw ToolkitError(.mismatch, subject: "training state", "\(r.name) has shape \(v.shape), expected \(r.shape)")
            }
            r.assign(v)
        }
        var moments: [AdamWMoments?] = []
        for (name, p) in zip(optimiserNames, optimiser.parameters) {
            let m = state.moments[name]
            guard m == nil || (m!.m.count == p.value.count && m!.v.count == p.value.count) else {
                throw ToolkitError(.mismatch, subject: "training state", "AdamW moments of \(name) have the wrong size")
            }
            moments.append(m)
        }
        optimiser.moments = moments
        epoch = state.epoch
        history = state.history
    }
}
