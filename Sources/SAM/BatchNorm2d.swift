import TensorCore

/// `nn.BatchNorm2d` in inference form, as `eval()` runs it: per channel,
/// y = (x - running_mean) / sqrt(running_var + eps) * weight + bias, an affine map of x.
///
/// The running statistics are buffers bound from the checkpoint and never trained; `weight` and `bias`
/// are parameters, and the map is differentiable with respect to them and to x. There is no training
/// form (batch statistics): a trainable model keeps the statistics frozen, as fine-tuning with a frozen
/// encoder does.
public struct BatchNorm2d {
    public let weight: Variable, bias: Variable
    public let runningMean: Tensor, runningVar: Tensor
    public let eps: Float

    public init(_ b: WeightBinder, _ prefix: String, channels: Int, eps: Float = 1e-5) {
        weight = b.take("\(prefix).weight", shape: [channels])
        bias = b.take("\(prefix).bias", shape: [channels])
        runningMean = b.take("\(prefix).running_mean", shape: [channels]).value
        runningVar = b.take("\(prefix).running_var", shape: [channels]).value
        self.eps = eps
    }

    /// Per-channel (scale, shift) with y = x * scale + shift.
    public func affine() -> (scale: Variable, shift: Variable) {
        let invStd = Variable(runningVar.map { 1 / ($0 + eps).squareRoot() })
        let scale = weight * invStd
        return (scale, bias - Variable(runningMean) * scale)
    }

    /// x: (N, C, H, W).
    public func callAsFunction(_ x: Variable) -> Variable {
        let c = weight.shape[0]
        let (scale, shift) = affine()
        return x * scale.reshaped([c, 1, 1]) + shift.reshaped([c, 1, 1])
    }

    public var parameters: [Variable] { [weight, bias] }
}
