import NN
import SSMSAM

/// The result of adapting a model to a support set: the adapted trainable parameters θ' (the model itself is
/// left at θ) and the support loss before each step.
public struct Adaptation {
    /// θ' by parameter name (the trainable parameters only); `model.restore(parameters)` puts it in the model.
    public let parameters: ParameterSnapshot
    /// The support loss at θ_0 ... θ_{S-1} (before each step).
    public let losses: [Float]
}

/// A way to adapt a model's trainable parameters to a task's labelled support pairs: the meta-learned online
/// optimiser (`OnlineOptimiser`) or plain fine-tuning (`FineTuner`, the "w/o MAML++" rows).
public protocol SupportAdaptation {
    /// θ' from the model's current θ on `support`; the model is left at θ.
    func adapt(on support: [FewShotPair]) throws -> Adaptation
}

extension SupportAdaptation {
    /// Runs `body` with the model at θ' (`adapt(on:)`), then puts θ back, also when `body` throws.
    public func withAdapted<T>(_ model: SSMSAMModel, on support: [FewShotPair], _ body: () throws -> T) throws -> T {
        let theta = model.snapshot(trainableOnly: true)
        let adapted = try adapt(on: support)
        try model.restore(adapted.parameters)
        defer { try? model.restore(theta) }
        return try body()
    }
}
