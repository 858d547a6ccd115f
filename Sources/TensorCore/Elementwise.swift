import CKernels
import Diagnostics
import Foundation

/// A binary element-wise operation as a type, so that `broadcastBinary` is specialised per operation.
protocol BinaryElementOp {
    func callAsFunction(_ a: Float, _ b: Float) -> Float
}
struct AddOp: BinaryElementOp { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b } }
struct SubtractOp: BinaryElementOp { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b } }
struct MultiplyOp: BinaryElementOp { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b } }
struct DivideOp: BinaryElementOp { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a / b } }
/// Any other operation, given as a closure (`zipMap`).
struct ClosureOp: BinaryElementOp {
    let op: (Float, Float) -> Float
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { op(a, b) }
}

/// Element-wise arithmetic with PyTorch broadcasting (`torch.add`, `sub`, `mul`, `div`).
extension Tensor {
    /// Per-dimension strides of `shape` read as if broadcast to `outShape` (0 where broadcast).
    static func broadcastStrides(_ shape: [Int], to outShape: [Int]) -> [Int] {
        let own = Shape.strides(shape)
        let offset = outShape.count - shape.count
        return outShape.indices.map { i in
            i < offset || shape[i - offset] == 1 ? 0 : own[i - offset]
        }
    }

    /// Applies `op` to the broadcast pair (a, b). Generic over the operation's type so that each operator
    /// gets its own specialised loops with the arithmetic inlined (a closure here would be an indirect call
    /// per element, inside the worker threads' closures where the optimiser cannot inline it).
    @inline(__always)
    static func broadcastBinary<Op: BinaryElementOp>(_ a: Tensor, _ b: Tensor, _ op: Op) -> Tensor {
        if a.shape == b.shape {
            var out = Tensor(uninitializedShape: a.shape)
            out.data.withUnsafeMutableBufferPointer { o in
                a.data.withUnsafeBufferPointer { pa in b.data.withUnsafeBufferPointer { pb in
                    let po = o.baseAddress!, A = pa.baseAddress!, B = pb.baseAddress!
                    Parallel.forRanges(o.count) { r in for i in r { po[i] = op(A[i], B[i]) } }
                } }
            }
            return out
        }
        let shape = checked { try Shape.broadcast(a.shape, b.shape) }
        var out = Tensor(uninitializedShape: shape)
        if shape.isEmpty { out.data[0] = op(a.data[0], b.data[0]); return out }
        let sa = broadcastStrides(a.shape, to: shape), sb = broadcastStrides(b.shape, to: shape)
        let inner = shape[shape.count - 1], ia = sa[shape.count - 1], ib = sb[shape.count - 1]
        let outerShape = Array(shape.dropLast())
        let rows = outerShape.product
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                out.data.withUnsafeMutableBufferPointer { po in
                    let A = pa.baseAddress!, B = pb.baseAddress!, O = po.baseAddress!
                    Parallel.forRanges(rows, costPerItem: inner) { range in
                        for row in range {
                            // Offsets of this row in a and b.
                            var rem = row, offA = 0, offB = 0
                            for d in stride(from: outerShape.count - 1, through: 0, by: -1) {
                                let idx = rem % outerShape[d]; rem /= outerShape[d]
                                offA += idx * sa[d]; offB += idx * sb[d]
                            }
                            let o = O + row * inner, x = A + offA, y = B + offB
                            // The common cases as unit-stride or scalar loops (vectorised).
                            switch (ia, ib) {
                            case (1, 1): for j in 0..<inner { o[j] = op(x[j], y[j]) }
                            case (1, 0): let v = y[0]; for j in 0..<inner { o[j] = op(x[j], v) }
                            case (0, 1): let v = x[0]; for j in 0..<inner { o[j] = op(v, y[j]) }
                            default: for j in 0..<inner { o[j] = op(x[j * ia], y[j * ib]) }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Sums a broadcast result back to `shape` (the gradient of broadcasting).
    public func sumToShape(_ target: [Int]) -> Tensor {
        if target == shape { return self }
        _ = checked { () throws -> [Int] in
            let b = try Shape.broadcast(target, shape)
            guard b == shape else { throw ToolkitError(.mismatch, "sumToShape: \(shape) is not a broadcast of \(target)") }
            return b
        }
        var out = Tensor.zeros(target)
        let st = Tensor.broadcastStrides(target, to: shape)
        let inner = shape.last ?? 1, it = st.last ?? 0
        let outer = Array(shape.dropLast())
        data.withUnsafeBufferPointer { pg in
            out.data.withUnsafeMutableBufferPointer { po in
                for row in 0..<outer.product {
                    var rem = row, off = 0
                    for d in stride(from: outer.count - 1, through: 0, by: -1) {
                        let idx = rem % outer[d]; rem /= outer[d]; off += idx * st[d]
                    }
                    let g = pg.baseAddress! + row * inner
                    if it == 0 { var s: Float = 0; for j in 0..<inner { s += g[j] }; po[off] += s }
                    else { for j in 0..<inner { po[off + j * it] += g[j] } }
                }
            }
        }
        return out
    }

    /// Applies `op` to every element.
    @inline(__always)
    public func map(_ op: (Float) -> Float) -> Tensor {
        var out = self
        out.data.withUnsafeMutableBufferPointer { o in
            let p = o.baseAddress!
            Parallel.forRanges(o.count) { r in for i in r { p[i] = op(p[i]) } }
        }
        return out
    }

    /// Combines two tensors of the same shape element by element.
    @inline(__always)
    public func zipMap(_ other: Tensor, _ op: (Float, Float) -> Float) -> Tensor {
        precondition(shape == other.shape, "zipMap: shapes \(shape) and \(other.shape) differ")
        return withoutActuallyEscaping(op) { Tensor.broadcastBinary(self, other, ClosureOp(op: $0)) }
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { broadcastBinary(a, b, AddOp()) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { broadcastBinary(a, b, SubtractOp()) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { broadcastBinary(a, b, MultiplyOp()) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { broadcastBinary(a, b, DivideOp()) }
    public static func + (a: Tensor, s: Float) -> Tensor { a.map { $0 + s } }
    public static func - (a: Tensor, s: Float) -> Tensor { a.map { $0 - s } }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map { $0 * s } }
    public static func / (a: Tensor, s: Float) -> Tensor { a.map { $0 / s } }
    public static prefix func - (a: Tensor) -> Tensor { a.map { -$0 } }

    /// In-place `self += other` (same shape), used to accumulate gradients.
    public mutating func addInPlace(_ other: Tensor, scale: Float = 1) {
        precondition(shape == other.shape, "addInPlace: shapes \(shape) and \(other.shape) differ")
        data.withUnsafeMutableBufferPointer { o in
            other.data.withUnsafeBufferPointer { b in
                let po = o.baseAddress!, pb = b.baseAddress!
                Parallel.forRanges(o.count) { r in for i in r { po[i] += scale * pb[i] } }
            }
        }
    }
}

/// Activations and element-wise functions.
extension Tensor {
    /// `torch.nn.functional.relu`.
    public func relu() -> Tensor { map { $0 > 0 ? $0 : 0 } }
    /// `torch.sigmoid`.
    public func sigmoid() -> Tensor { map { 1 / (1 + Foundation.exp(-$0)) } }
    /// `torch.nn.functional.gelu` with the exact erf form (approximate="none"); vectorised erf (CKernels).
    public func gelu() -> Tensor {
        var out = self
        out.data.withUnsafeMutableBufferPointer { o in
            let p = o.baseAddress!
            Parallel.forRanges(o.count, costPerItem: 4) { r in ssm_gelu(p + r.lowerBound, r.count) }
        }
        return out
    }
    /// `torch.nn.functional.logsigmoid`, stable for large |x|: min(x, 0) - log1p(exp(-|x|)).
    public func logSigmoid() -> Tensor { map { Swift.min($0, 0) - Foundation.log1p(Foundation.exp(-abs($0))) } }
    /// `torch.exp`.
    public func exp() -> Tensor { map { Foundation.exp($0) } }
    /// `torch.log`.
    public func log() -> Tensor { map { Foundation.log($0) } }
    /// `torch.sqrt`.
    public func sqrt() -> Tensor { map { $0.squareRoot() } }
    /// `torch.tanh`.
    public func tanh() -> Tensor { map { Foundation.tanh($0) } }
}

/// Derivatives of the activations, used by the autodiff rules.
enum ActivationGrad {
    static func gelu(_ x: Float) -> Float {
        let cdf = 0.5 * (1 + Foundation.erf(x * 0.70710678118654752))
        let pdf = Foundation.exp(-0.5 * x * x) * 0.39894228040143268
        return cdf + x * pdf
    }
    static func logSigmoid(_ x: Float) -> Float { 1 / (1 + Foundation.exp(x)) }  // 1 - sigmoid(x)
}
