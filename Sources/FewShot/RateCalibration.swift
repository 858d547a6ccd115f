import Diagnostics
import SSMSAM
import TensorCore

/// Initial learned rates scaled to each tensor's gradient: α_t = η / rms(g_t) for every step, where g_t is the
/// support-loss gradient of tensor t at θ (averaged over a meta-batch's tasks), so that every tensor's first
/// inner step has the same root-mean-square size η.
///
/// Why: the heads' support gradients span five orders of magnitude across tensors (about 1e-7 in the
/// self-sampler's first MLP to 4e-2 in the last convolution's bias on the shared CT). One constant α (the design's
/// 1e-3) then moves nothing but the last layers, and the outer optimiser, whose steps on a rate are about its
/// learning rate (2e-4), cannot bring rates to the right scale in any affordable number of outer updates.
/// Fine-tuning with AdamW adapts because it normalises each element's step; this gives plain gradient descent
/// the same per-tensor scale at the start, and MAML++ learns the rates from there as before.
///
/// A tensor whose gradient is (near) zero by construction, such as an attention's key bias, would get an
/// unbounded rate, so the RMS is floored at `floorFraction` of the median tensor's RMS.
public enum RateCalibration {
    /// The floor of a tensor's gradient RMS, relative to the median tensor's.
    public static let floorFraction: Float = 1e-3

    /// Rates for `model`'s trainable tensors, `steps` per tensor, from the support gradients of `episodes` at
    /// the model's current θ (which is left unchanged).
    ///
    /// `eachStep`: calibrate every step at the point it is taken instead of all from θ: step s's rate is η over
    /// the RMS of the gradient at θ_s, reached by the s steps before it with the rates already calibrated (per
    /// episode, then averaged like the first). The gradients of the smallest tensors grow once the others have
    /// moved, and a rate set from θ alone then takes a step far larger than η on them; this keeps every step of
    /// every tensor at RMS η, as AdamW's steps are about its learning rate.
    public static func rates(model: SSMSAMModel, episodes: [TrainingEpisode], steps: Int, stepSize eta: Float,
                             plainBCE: Bool = false, eachStep: Bool = false) throws -> LearnedStepRates {
        guard eta > 0, eta.isFinite else {
            throw ToolkitError(.invalidArgument, subject: "rate calibration", "the first-step size must be finite and > 0, got \(eta)")
        }
        guard !episodes.isEmpty else { throw ToolkitError(.invalidArgument, subject: "rate calibration", "no episodes") }
        let trainable = model.trainableParameters()
        let names = trainable.map(\.name), parameters = trainable.map(\.parameter)
        let theta = model.snapshot(trainableOnly: true)
        defer { try? model.restore(theta) }
        var values = [[Float]](repeating: [], count: parameters.count)  // per tensor, the steps calibrated so far
        for s in 0..<(eachStep ? steps : 1) {
            var meanSquares = [Double](repeating: 0, count: parameters.count)
            // To θ_s with the rates of the steps before (none at s = 0).
            var before = try s > 0 ? OnlineOptimiser(model: model, rates: LearnedStepRates(parameterNames: names, values: values)) : nil
            before?.plainBCE = plainBCE
            for ep in episodes {
                try PairGradients.require(ep.support, "support of \(ep.organ)")
                for k in 0..<s { _ = before?.step(k, on: ep.support) }
                let (_, grads) = PairGradients.meanLoss(ep.support, model: model, parameters: parameters, plainBCE: plainBCE)
                for (t, g) in grads.enumerated() {
                    meanSquares[t] += g.data.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(g.count, 1)) / Double(episodes.count)
                }
                if s > 0 { try model.restore(theta) }
            }
            let rates = stepRates(rms: meanSquares.map { Float($0.squareRoot()) }, stepSize: eta)
            for t in values.indices { values[t].append(rates[t]) }
        }
        if !eachStep { values = values.map { [Float](repeating: $0[0], count: steps) } }
        return try LearnedStepRates(parameterNames: names, values: values)
    }

    /// α_t = η / max(rms_t, floorFraction · median rms) for each tensor's gradient RMS.
    public static func stepRates(rms: [Float], stepSize eta: Float) -> [Float] {
        let positive = rms.filter { $0 > 0 }.sorted()
        guard !positive.isEmpty else { return rms.map { _ in eta } }
        let floor = floorFraction * positive[positive.count / 2]
        return rms.map { eta / Swift.max($0, floor) }
    }
}
