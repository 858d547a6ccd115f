import Diagnostics
import SSMSAM
import TensorCore

/// The mean loss over pairs and its gradient for each of `parameters`, at the model's current values.
///
/// Each pair is back-propagated on its own (its loss scaled by 1/count), so only one pair's graph is alive
/// at a time; the gradients accumulate in the parameters and are read out in `parameters` order (zeros for
/// a parameter the loss does not reach). The parameters' `grad` is cleared before and after.
enum PairGradients {
    static func meanLoss(_ pairs: [FewShotPair], model: SSMSAMModel, parameters: [Variable],
                         plainBCE: Bool = false) -> (loss: Float, gradients: [Tensor]) {
        precondition(!pairs.isEmpty, "PairGradients: no pairs")
        parameters.forEach { $0.zeroGrad() }
        let scale = 1 / Float(pairs.count)
        var total: Double = 0
        for pair in pairs {
            let loss = pair.loss(model, plainBCE: plainBCE)
            total += Double(loss.value.data[0])
            (loss * scale).backward()
        }
        let grads = parameters.map { $0.grad ?? Tensor.zeros($0.shape) }
        parameters.forEach { $0.zeroGrad() }
        return (Float(total / Double(pairs.count)), grads)
    }

    /// The mean loss without a graph.
    static func meanLoss(_ pairs: [FewShotPair], model: SSMSAMModel, plainBCE: Bool = false) -> Float {
        Variable.noGrad {
            Float(pairs.reduce(0.0) { $0 + Double($1.loss(model, plainBCE: plainBCE).value.data[0]) } / Double(pairs.count))
        }
    }

    /// Throws unless `pairs` is non-empty (`what` names them).
    static func require(_ pairs: [FewShotPair], _ what: String) throws {
        guard !pairs.isEmpty else { throw ToolkitError(.invalidArgument, subject: what, "no labelled pairs to learn from") }
    }
}
