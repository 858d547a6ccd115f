import Diagnostics
import NN
import SSMSAM
import TensorCore

/// SSM-SAM's online optimiser (the paper's Algorithm 1, MAML++'s inner loop): from θ, S steps of plain
/// gradient descent on the mean loss over the K support pairs, each trainable tensor t at step s with its own
/// learned rate: θ_{s+1,t} = θ_{s,t} - α_{s,t} ∇_t L_support(θ_s).
///
/// One step uses all K pairs (MAML++ as its authors coded it); Algorithm 1 as printed steps once per pair,
/// which is the same at K = 1, the default.
public struct OnlineOptimiser: SupportAdaptation {
    public let model: SSMSAMModel
    public let rates: LearnedStepRates
    /// Plain BCE + IoU instead of balanced BCE + IoU.
    public var plainBCE = false
    /// The model's trainable parameters, in `rates.names` order.
    let parameters: [Variable]

    /// An optimiser for `model` with `rates`, which must name exactly its trainable parameters.
    public init(model: SSMSAMModel, rates: LearnedStepRates) throws {
        let trainable = model.trainableParameters()
        guard trainable.map(\.name) == rates.names else {
            let have = Set(trainable.map(\.name)), want = Set(rates.names)
            let missing = have.subtracting(want).sorted().prefix(3), extra = want.subtracting(have).sorted().prefix(3)
            throw ToolkitError(.mismatch, subject: "LSLR", "the learning rates do not name the model's trainable parameters in order"
                               + (missing.isEmpty ? "" : "; no rates for \(missing.joined(separator: ", "))")
                               + (extra.isEmpty ? "" : "; rates for unknown \(extra.joined(separator: ", "))"))
        }
        (self.model, self.rates, parameters) = (model, rates, trainable.map(\.parameter))
    }

    /// Number of inner steps S.
    public var steps: Int { rates.steps }

    /// One inner step `s` in place: the model goes from θ_s to θ_{s+1}. Returns the support loss at θ_s and
    /// the gradients g_s (in `rates.names` order), which the meta-learner's rate gradient needs.
    public func step(_ s: Int, on support: [FewShotPair]) -> (loss: Float, gradients: [Tensor]) {
        precondition(s >= 0 && s < steps, "inner step \(s) outside 0..<\(steps)")
        let (loss, grads) = PairGradients.meanLoss(support, model: model, parameters: parameters, plainBCE: plainBCE)
        for (i, (p, g)) in zip(parameters, grads).enumerated() {
            var v = p.value
            v.addInPlace(g, scale: -rates.rate(i, step: s))
            p.assign(v)
        }
        return (loss, grads)
    }

    /// θ' after S steps from the model's current θ; the model is restored to θ.
    public func adapt(on support: [FewShotPair]) throws -> Adaptation {
        try PairGradients.require(support, "online optimiser")
        let theta = model.snapshot(trainableOnly: true)
        var losses: [Float] = []
        for s in 0..<steps { losses.append(step(s, on: support).loss) }
        let adapted = model.snapshot(trainableOnly: true)
        try model.restore(theta)
        return Adaptation(parameters: adapted, losses: losses)
    }
}
