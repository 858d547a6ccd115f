import NN
import TensorCore

/// TinyViT's `Mlp`: its own LayerNorm, fc1, GELU, fc2.
public struct TinyViTMLP: Module {
    public let norm: LayerNorm
    public let fc1: Linear, fc2: Linear

    public init(dim: Int, hidden: Int) {
        norm = LayerNorm(dim, eps: 1e-5)
        fc1 = Linear(dim, hidden)
        fc2 = Linear(hidden, dim)
    }

    /// x: (..., dim) -> same shape.
    public func callAsFunction(_ x: Variable) -> Variable { fc2(fc1(norm(x)).gelu()) }
}
