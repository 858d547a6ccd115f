import TensorCore

/// `torch.nn.Linear`: y = x Wᵀ + b, weight (out, in), optional bias (out).
public struct Linear: Module {
    public let weight: Variable
    public let bias: Variable?
    /// Initialisers used when no checkpoint provides the tensors (default: PyTorch's `reset_parameters`).
    public let weightInit: Initializer, biasInit: Initializer

    public init(_ inFeatures: Int, _ outFeatures: Int, bias hasBias: Bool = true,
                weightInit: Initializer? = nil, biasInit: Initializer? = nil) {
        precondition(inFeatures > 0 && outFeatures > 0, "Linear: sizes must be positive, got \(inFeatures) -> \(outFeatures)")
        weight = Variable(Tensor.zeros([outFeatures, inFeatures]), requiresGrad: true)
        bias = hasBias ? Variable(Tensor.zeros([outFeatures]), requiresGrad: true) : nil
        self.weightInit = weightInit ?? .kaimingUniform()
        self.biasInit = biasInit ?? .defaultBias(fanIn: inFeatures)
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public func callAsFunction(_ x: Variable) -> Variable { Variable.linear(x, weight: weight, bias: bias) }

    public func initializer(forKey key: String, shape: [Int]) -> Initializer? { key == "weight" ? weightInit : biasInit }
}

/// `torch.nn.Embedding` as SAM uses it: a learned (count, dim) table read whole (tokens, point embeddings).
public struct Embedding: Module {
    public let weight: Variable
    public init(_ count: Int, _ dim: Int) {
        weight = Variable(Tensor.zeros([count, dim]), requiresGrad: true)
    }
    public func initializer(forKey key: String, shape: [Int]) -> Initializer? { .normal(mean: 0, std: 1) }
}
