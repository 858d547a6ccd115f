import TensorCore

/// SAM's `MLP` (mask decoder heads): `depth` Linear layers with ReLU between them (`layers.0`, ...).
public struct MLP: Module {
    public let layers: [Linear]
    public init(_ inDim: Int, hidden: Int, _ outDim: Int, depth: Int) {
        precondition(depth >= 1, "MLP: depth must be at least 1, got \(depth)")
        let dims = [inDim] + [Int](repeating: hidden, count: depth - 1) + [outDim]
        layers = (0..<depth).map { Linear(dims[$0], dims[$0 + 1]) }
    }
    public func callAsFunction(_ x: Variable) -> Variable {
        var y = x
        for (i, l) in layers.enumerated() { y = l(y); if i < layers.count - 1 { y = y.relu() } }
        return y
    }
}

/// SAM's `MLPBlock`: lin1, activation (exact GELU or ReLU), lin2.
public struct MLPBlock: Module {
    public enum Activation { case gelu, relu }
    public let lin1: Linear, lin2: Linear
    public let activation: Activation
    public init(_ dim: Int, hidden: Int, activation: Activation) {
        lin1 = Linear(dim, hidden)
        lin2 = Linear(hidden, dim)
        self.activation = activation
    }
    public func callAsFunction(_ x: Variable) -> Variable {
        let h = Profiler.shared.measure("mlp lin1") { lin1(x) }
        let a = Profiler.shared.measure("gelu") { activation == .gelu ? h.gelu() : h.relu() }
        return Profiler.shared.measure("mlp lin2") { lin2(a) }
    }
}
