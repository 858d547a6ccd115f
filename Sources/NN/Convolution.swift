import TensorCore

/// `torch.nn.Conv2d` with a square kernel, stride and padding; weight (out, in / groups, k, k).
public struct Conv2d: Module {
    public let weight: Variable
    public let bias: Variable?
    public let stride: Int, padding: Int, groups: Int
    /// Initialisers used when no checkpoint provides the tensors (default: PyTorch's `reset_parameters`).
    public let weightInit: Initializer, biasInit: Initializer

    public init(_ cIn: Int, _ cOut: Int, kernel: Int, stride: Int = 1, padding: Int = 0, groups: Int = 1,
                bias hasBias: Bool = true, weightInit: Initializer? = nil, biasInit: Initializer? = nil) {
        precondition(cIn > 0 && cOut > 0 && kernel > 0 && stride > 0 && padding >= 0 && groups > 0
                     && cIn % groups == 0 && cOut % groups == 0,
                     "Conv2d: invalid sizes in \(cIn) out \(cOut) kernel \(kernel) stride \(stride) padding \(padding) groups \(groups)")
        weight = Variable(Tensor.zeros([cOut, cIn / groups, kernel, kernel]), requiresGrad: true)
        bias = hasBias ? Variable(Tensor.zeros([cOut]), requiresGrad: true) : nil
        (self.stride, self.padding, self.groups) = (stride, padding, groups)
        self.weightInit = weightInit ?? .kaimingUniform()
        self.biasInit = biasInit ?? .defaultBias(fanIn: cIn / groups * kernel * kernel)
    }

    public func callAsFunction(_ x: Variable) -> Variable {
        Variable.conv2d(x, weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding), groups: groups)
    }

    public func initializer(forKey key: String, shape: [Int]) -> Initializer? { key == "weight" ? weightInit : biasInit }
}

/// `torch.nn.ConvTranspose2d` with kernel == stride (SAM's upscaling); weight stored (in, out, k, k).
public struct ConvTranspose2d: Module {
    public let weight: Variable, bias: Variable

    public init(_ cIn: Int, _ cOut: Int, kernel: Int) {
        precondition(cIn > 0 && cOut > 0 && kernel > 0, "ConvTranspose2d: invalid sizes in \(cIn) out \(cOut) kernel \(kernel)")
        weight = Variable(Tensor.zeros([cIn, cOut, kernel, kernel]), requiresGrad: true)
        bias = Variable(Tensor.zeros([cOut]), requiresGrad: true)
    }

    public func callAsFunction(_ x: Variable) -> Variable { Variable.convTranspose2d(x, weight: weight, bias: bias) }

    /// As PyTorch, the fans come from the stored weight (in, out, k, k): fan-in is out x k x k.
    public func initializer(forKey key: String, shape: [Int]) -> Initializer? {
        key == "weight" ? .kaimingUniform() : .defaultBias(weightShape: weight.shape)
    }
}
