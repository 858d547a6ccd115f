import TensorCore

/// TinyViT's `Mlp`: its own LayerNorm, fc1, GELU, fc2.
public struct TinyViTMLP {
    public let norm: LayerNorm
    public let fc1: Linear, fc2: Linear

    public init(_ b: WeightBinder, _ prefix: String, dim: Int, hidden: Int) {
        norm = LayerNorm(b, "\(prefix).norm", dim: dim, eps: 1e-5)
        fc1 = Linear(b, "\(prefix).fc1", in: dim, out: hidden)
        fc2 = Linear(b, "\(prefix).fc2", in: hidden, out: dim)
    }

    /// x: (..., dim) -> same shape.
    public func callAsFunction(_ x: Variable) -> Variable { fc2(fc1(norm(x)).gelu()) }

    public var parameters: [Variable] { norm.parameters + fc1.parameters + fc2.parameters }
}
