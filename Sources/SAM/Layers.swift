import TensorCore

/// `nn.Linear`: weight (out, in), optional bias (out).
public struct Linear {
    public let weight: Variable
    public let bias: Variable?
    public init(_ b: WeightBinder, _ prefix: String, in inFeatures: Int, out outFeatures: Int, bias hasBias: Bool = true) {
        weight = b.take("\(prefix).weight", shape: [outFeatures, inFeatures])
        bias = hasBias ? b.take("\(prefix).bias", shape: [outFeatures]) : nil
    }
    public func callAsFunction(_ x: Variable) -> Variable { Variable.linear(x, weight: weight, bias: bias) }
    public var parameters: [Variable] { [weight] + (bias.map { [$0] } ?? []) }
}

/// `nn.LayerNorm` over the last axis.
public struct LayerNorm {
    public let weight: Variable, bias: Variable
    public let eps: Float
    public init(_ b: WeightBinder, _ prefix: String, dim: Int, eps: Float) {
        weight = b.take("\(prefix).weight", shape: [dim])
        bias = b.take("\(prefix).bias", shape: [dim])
        self.eps = eps
    }
    public func callAsFunction(_ x: Variable) -> Variable { x.layerNorm(weight: weight, bias: bias, eps: eps) }
    public var parameters: [Variable] { [weight, bias] }
}

/// SAM's `LayerNorm2d` (channel axis of NCHW, eps 1e-6).
public struct LayerNorm2d {
    public let weight: Variable, bias: Variable
    public init(_ b: WeightBinder, _ prefix: String, channels: Int) {
        weight = b.take("\(prefix).weight", shape: [channels])
        bias = b.take("\(prefix).bias", shape: [channels])
    }
    public func callAsFunction(_ x: Variable) -> Variable { x.layerNorm2d(weight: weight, bias: bias, eps: 1e-6) }
    public var parameters: [Variable] { [weight, bias] }
}

/// `nn.Conv2d` with square kernel, stride and padding.
public struct Conv2d {
    public let weight: Variable
    public let bias: Variable?
    public let stride: Int, padding: Int, groups: Int
    public init(_ b: WeightBinder, _ prefix: String, in cIn: Int, out cOut: Int, kernel: Int, stride: Int = 1,
                padding: Int = 0, groups: Int = 1, bias hasBias: Bool = true) {
        weight = b.take("\(prefix).weight", shape: [cOut, cIn / groups, kernel, kernel])
        bias = hasBias ? b.take("\(prefix).bias", shape: [cOut]) : nil
        (self.stride, self.padding, self.groups) = (stride, padding, groups)
    }
    public func callAsFunction(_ x: Variable) -> Variable {
        Variable.conv2d(x, weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding), groups: groups)
    }
    public var parameters: [Variable] { [weight] + (bias.map { [$0] } ?? []) }
}

/// `nn.ConvTranspose2d` with kernel == stride (weights stored [in, out, k, k]).
public struct ConvTranspose2d {
    public let weight: Variable, bias: Variable
    public init(_ b: WeightBinder, _ prefix: String, in cIn: Int, out cOut: Int, kernel: Int) {
        weight = b.take("\(prefix).weight", shape: [cIn, cOut, kernel, kernel])
        bias = b.take("\(prefix).bias", shape: [cOut])
    }
    public func callAsFunction(_ x: Variable) -> Variable { Variable.convTranspose2d(x, weight: weight, bias: bias) }
    public var parameters: [Variable] { [weight, bias] }
}

/// SAM's `MLP` (mask decoder heads): Linear layers with ReLU between them.
public struct MLP {
    public let layers: [Linear]
    public init(_ b: WeightBinder, _ prefix: String, in inDim: Int, hidden: Int, out outDim: Int, depth: Int) {
        let dims = [inDim] + [Int](repeating: hidden, count: depth - 1) + [outDim]
        layers = (0..<depth).map { Linear(b, "\(prefix).layers.\($0)", in: dims[$0], out: dims[$0 + 1]) }
    }
    public func callAsFunction(_ x: Variable) -> Variable {
        var y = x
        for (i, l) in layers.enumerated() { y = l(y); if i < layers.count - 1 { y = y.relu() } }
        return y
    }
    public var parameters: [Variable] { layers.flatMap(\.parameters) }
}

/// SAM's `MLPBlock`: lin1, activation, lin2.
public struct MLPBlock {
    public let lin1: Linear, lin2: Linear
    public let gelu: Bool
    public init(_ b: WeightBinder, _ prefix: String, dim: Int, hidden: Int, gelu: Bool) {
        lin1 = Linear(b, "\(prefix).lin1", in: dim, out: hidden)
        lin2 = Linear(b, "\(prefix).lin2", in: hidden, out: dim)
        self.gelu = gelu
    }
    public func callAsFunction(_ x: Variable) -> Variable {
        let h = lin1(x)
        return lin2(gelu ? h.gelu() : h.relu())
    }
    public var parameters: [Variable] { lin1.parameters + lin2.parameters }
}
