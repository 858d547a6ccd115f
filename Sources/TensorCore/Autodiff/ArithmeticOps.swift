/// Differentiable element-wise arithmetic, activations and reductions.
extension Variable {
    public static func + (a: Variable, b: Variable) -> Variable {
        Variable(a.value + b.value, inputs: [a, b]) { g in
            [a.requiresGrad ? g.sumToShape(a.shape) : nil, b.requiresGrad ? g.sumToShape(b.shape) : nil]
        }
    }
    public static func - (a: Variable, b: Variable) -> Variable {
        Variable(a.value - b.value, inputs: [a, b]) { g in
            [a.requiresGrad ? g.sumToShape(a.shape) : nil, b.requiresGrad ? (-g).sumToShape(b.shape) : nil]
        }
    }
    public static func * (a: Variable, b: Variable) -> Variable {
        Variable(a.value * b.value, inputs: [a, b]) { g in
            [a.requiresGrad ? (g * b.value).sumToShape(a.shape) : nil,
             b.requiresGrad ? (g * a.value).sumToShape(b.shape) : nil]
        }
    }
    public static func / (a: Variable, b: Variable) -> Variable {
        Variable(a.value / b.value, inputs: [a, b]) { g in
            [a.requiresGrad ? (g / b.value).sumToShape(a.shape) : nil,
             b.requiresGrad ? (-(g * a.value) / (b.value * b.value)).sumToShape(b.shape) : nil]
        }
    }
    public static func * (a: Variable, s: Float) -> Variable {
        Variable(a.value * s, inputs: [a]) { g in [g * s] }
    }
    /// Division by a scalar, as torch divides (not multiplication by 1/s, which rounds differently).
    public static func / (a: Variable, s: Float) -> Variable {
        Variable(a.value / s, inputs: [a]) { g in [g / s] }
    }
    public static func + (a: Variable, s: Float) -> Variable {
        Variable(a.value + s, inputs: [a]) { g in [g] }
    }
    public static prefix func - (a: Variable) -> Variable { a * -1 }

    /// Element-wise op with a derivative computed from the input x and the output y.
    private func unary(_ y: Tensor, _ dydx: @escaping (Float, Float) -> Float) -> Variable {
        let x = value
        return Variable(y, inputs: [self]) { g in
            var d = g
            for i in 0..<d.count { d.data[i] *= dydx(x.data[i], y.data[i]) }
            return [d]
        }
    }
    public func relu() -> Variable { unary(value.relu()) { x, _ in x > 0 ? 1 : 0 } }
    public func gelu() -> Variable { unary(value.gelu()) { x, _ in ActivationGrad.gelu(x) } }
    public func sigmoid() -> Variable { unary(value.sigmoid()) { _, y in y * (1 - y) } }
    public func logSigmoid() -> Variable { unary(value.logSigmoid()) { x, _ in ActivationGrad.logSigmoid(x) } }
    public func exp() -> Variable { unary(value.exp()) { _, y in y } }
    public func log() -> Variable { unary(value.log()) { x, _ in 1 / x } }
    public func sqrt() -> Variable { unary(value.sqrt()) { _, y in 0.5 / y } }
    public func tanh() -> Variable { unary(value.tanh()) { _, y in 1 - y * y } }

    /// `torch.sum(x, dim=axes, keepdim=keepDims)`.
    public func sum(axes: [Int] = [], keepDims: Bool = false) -> Variable {
        let inShape = shape
        let kept = value.sum(axes: axes, keepDims: true).shape
        return Variable(value.sum(axes: axes, keepDims: keepDims), inputs: [self]) { g in
            [g.reshaped(kept) + Tensor.zeros(inShape)]
        }
    }
    /// `torch.mean(x, dim=axes, keepdim=keepDims)`.
    public func mean(axes: [Int] = [], keepDims: Bool = false) -> Variable {
        let n = axes.isEmpty ? value.count : Set(axes.map { value.axis($0) }).map { shape[$0] }.product
        return sum(axes: axes, keepDims: keepDims) * (1 / Float(n))
    }
    /// `torch.max(x, dim=axis, keepdim=keepDims).values`; the gradient goes to the first maximum.
    public func max(axis: Int, keepDims: Bool = false) -> Variable {
        let (values, indices) = value.max(axis: axis, keepDims: keepDims)
        let (outer, n, inner) = value.splitAround(axis)
        let inShape = shape
        return Variable(values, inputs: [self]) { g in
            var d = Tensor.zeros(inShape)
            for o in 0..<outer { for i in 0..<inner {
                d.data[(o * n + indices[o * inner + i]) * inner + i] = g.data[o * inner + i]
            } }
            return [d]
        }
    }

    /// `torch.softmax(x, dim=axis)`.
    public func softmax(axis: Int = -1) -> Variable {
        let y = value.softmax(axis: axis)
        return Variable(y, inputs: [self]) { g in [Tensor.softmaxBackward(y: y, grad: g, axis: axis)] }
    }
    /// `torch.log_softmax(x, dim=axis)`.
    public func logSoftmax(axis: Int = -1) -> Variable {
        let y = value.logSoftmax(axis: axis)
        return Variable(y, inputs: [self]) { g in [Tensor.logSoftmaxBackward(y: y, grad: g, axis: axis)] }
    }
}
