import TensorCore

/// `torch.nn.LayerNorm` over the last axis, with affine weight and bias.
public struct LayerNorm: Module {
    public let weight: Variable, bias: Variable
    public let eps: Float
    public init(_ dim: Int, eps: Float = 1e-5) {
        weight = Variable(Tensor.ones([dim]), requiresGrad: true)
        bias = Variable(Tensor.zeros([dim]), requiresGrad: true)
        self.eps = eps
    }
    public func callAsFunction(_ x: Variable) -> Variable { x.layerNorm(weight: weight, bias: bias, eps: eps) }
    public func initializer(forKey key: String, shape: [Int]) -> Initializer? { key == "weight" ? .ones : .zeros }
}

/// SAM's `LayerNorm2d`: layer norm over the channel axis of N x C x H x W at each pixel (eps 1e-6).
public struct LayerNorm2d: Module {
    public let weight: Variable, bias: Variable
    public let eps: Float
    public init(_ channels: Int, eps: Float = 1e-6) {
        weight = Variable(Tensor.ones([channels]), requiresGrad: true)
        bias = Variable(Tensor.zeros([channels]), requiresGrad: true)
        self.eps = eps
    }
    public func callAsFunction(_ x: Variable) -> Variable { x.layerNorm2d(weight: weight, bias: bias, eps: eps) }
    public func initializer(forKey key: String, shape: [Int]) -> Initializer? { key == "weight" ? .ones : .zeros }
}

/// `torch.nn.InstanceNorm2d` (no running statistics), optionally affine: each channel of each sample
/// normalised over its spatial positions.
public struct InstanceNorm: Module {
    public let weight: Variable?, bias: Variable?
    public let eps: Float
    public init(_ channels: Int, affine: Bool = false, eps: Float = 1e-5) {
        weight = affine ? Variable(Tensor.ones([channels]), requiresGrad: true) : nil
        bias = affine ? Variable(Tensor.zeros([channels]), requiresGrad: true) : nil
        self.eps = eps
    }
    public func callAsFunction(_ x: Variable) -> Variable { x.instanceNorm(weight: weight, bias: bias, eps: eps) }
    public func initializer(forKey key: String, shape: [Int]) -> Initializer? { key == "weight" ? .ones : .zeros }
}

/// `torch.nn.BatchNorm2d` in inference form, as `eval()` runs it: per channel,
/// y = (x - running_mean) / sqrt(running_var + eps) * weight + bias, an affine map of x.
///
/// The running statistics are buffers (saved, never trained); `weight` and `bias` are parameters, and the
/// map is differentiable with respect to them and to x. There is no training form (batch statistics): a
/// fine-tuned model keeps the statistics frozen, as fine-tuning with a frozen encoder does.
public struct BatchNorm2d: Module {
    public let weight: Variable, bias: Variable
    public let runningMean: Buffer, runningVar: Buffer
    public let eps: Float

    public init(_ channels: Int, eps: Float = 1e-5) {
        weight = Variable(Tensor.ones([channels]), requiresGrad: true)
        bias = Variable(Tensor.zeros([channels]), requiresGrad: true)
        runningMean = Buffer(Tensor.zeros([channels]))
        runningVar = Buffer(Tensor.ones([channels]))
        self.eps = eps
    }

    /// Per-channel (scale, shift) with y = x * scale + shift.
    public func affine() -> (scale: Variable, shift: Variable) {
        let invStd = Variable(runningVar.value.map { 1 / ($0 + eps).squareRoot() })
        let scale = weight * invStd
        return (scale, bias - Variable(runningMean.value) * scale)
    }

    /// x: (N, C, H, W).
    public func callAsFunction(_ x: Variable) -> Variable {
        let c = weight.shape[0]
        let (scale, shift) = affine()
        return x * scale.reshaped([c, 1, 1]) + shift.reshaped([c, 1, 1])
    }

    /// `reset_parameters` and `reset_running_stats`: weight and running variance 1, bias and running mean 0.
    public func initializer(forKey key: String, shape: [Int]) -> Initializer? {
        key == "weight" || key == "running_var" ? .ones : .zeros
    }
}
