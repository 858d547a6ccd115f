import Diagnostics
import NN
import SSMSAM
import TensorCore

/// Plain fine-tuning on the support pairs with AdamW (fresh moments each time): the adaptation of the
/// "w/o MAML++" rows of the paper's Table 1 (SS-SAM: heads trained on the training organs, fine-tuned on
/// the support).
public struct FineTuner: SupportAdaptation {
    public let model: SSMSAMModel
    public var steps: Int
    public var learningRate: Float
    public var beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01
    /// Plain BCE + IoU instead of balanced BCE + IoU.
    public var plainBCE = false

    /// `steps` AdamW steps at `learningRate` (the defaults: the meta-learner's S and outer rate).
    public init(model: SSMSAMModel, steps: Int = 5, learningRate: Float = 2e-4) throws {
        guard steps >= 1 else { throw ToolkitError(.invalidArgument, subject: "fine-tuning", "needs at least 1 step, got \(steps)") }
        guard learningRate > 0, learningRate.isFinite else {
            throw ToolkitError(.invalidArgument, subject: "fine-tuning", "the learning rate must be positive, got \(learningRate)")
        }
        (self.model, self.steps, self.learningRate) = (model, steps, learningRate)
    }

    /// θ' after `steps` AdamW steps on the mean support loss; the model is restored to θ.
    public func adapt(on support: [FewShotPair]) throws -> Adaptation {
        try PairGradients.require(support, "fine-tuning")
        let parameters = model.trainableParameters().map(\.parameter)
        let theta = model.snapshot(trainableOnly: true)
        let adam = AdamW(parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay)
        var losses: [Float] = []
        for _ in 0..<steps {
            let (loss, grads) = PairGradients.meanLoss(support, model: model, parameters: parameters, plainBCE: plainBCE)
            losses.append(loss)
            for (p, g) in zip(parameters, grads) { p.grad = g }
            adam.step()
            adam.zeroGrad()
        }
        let adapted = model.snapshot(trainableOnly: true)
        try model.restore(theta)
        return Adaptation(parameters: adapted, losses: losses)
    }
}
