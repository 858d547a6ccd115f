import CKernels
import Foundation

/// Reductions along axes (`torch.sum`, `mean`, `max(dim)`), and the (outer, axis, inner) view they share.
extension Tensor {
    /// Sizes of the dimensions before, at and after `axis`.
    func splitAround(_ axis: Int) -> (outer: Int, n: Int, inner: Int) {
        let a = self.axis(axis)
        return (Array(shape[..<a]).product, shape[a], Array(shape[(a + 1)...]).product)
    }

    /// `torch.sum(x, dim=axes, keepdim=keepDims)`; no axes sums everything.
    public func sum(axes: [Int] = [], keepDims: Bool = false) -> Tensor {
        if axes.isEmpty {
            var s: Double = 0
            for v in data { s += Double(v) }
            let r = Tensor(scalar: Float(s))
            return keepDims ? r.reshaped([Int](repeating: 1, count: rank)) : r
        }
        let sorted = Set(axes.map { axis($0) }).sorted(by: >)
        var out = self
        for a in sorted { out = out.sumAxis(a) }  // keeps a size-1 dimension
        if keepDims { return out }
        return out.reshaped(shape.enumerated().filter { !sorted.contains($0.offset) }.map(\.element))
    }

    /// Sum over one axis, keeping it with size 1. Accumulated in double, as the full sum is: a float
    /// running sum over n terms loses up to n ulps, and some of SSM-SAM's sums (the row sums of FMAM's value
    /// weights) nearly cancel.
    func sumAxis(_ axis: Int) -> Tensor {
        let (outer, n, inner) = splitAround(axis)
        var s = shape; s[self.axis(axis)] = 1
        var out = Tensor.zeros(s)
        data.withUnsafeBufferPointer { px in
            out.data.withUnsafeMutableBufferPointer { po in
                let X = px.baseAddress!, O = po.baseAddress!
                Parallel.forRanges(outer, costPerItem: n * inner) { r in
                    var acc = [Double](repeating: 0, count: inner)
                    for o in r {
                        for i in 0..<inner { acc[i] = 0 }
                        for k in 0..<n {
                            let src = X + (o * n + k) * inner
                            for i in 0..<inner { acc[i] += Double(src[i]) }
                        }
                        let dst = O + o * inner
                        for i in 0..<inner { dst[i] = Float(acc[i]) }
                    }
                }
            }
        }
        return out
    }

    /// `torch.mean(x, dim=axes, keepdim=keepDims)`; no axes averages everything.
    public func mean(axes: [Int] = [], keepDims: Bool = false) -> Tensor {
        let n = axes.isEmpty ? count : Set(axes.map { axis($0) }).map { shape[$0] }.product
        return sum(axes: axes, keepDims: keepDims) / Float(n)
    }

    /// `torch.max(x, dim=axis, keepdim=keepDims)`: values and the index of the first maximum.
    public func max(axis: Int, keepDims: Bool = false) -> (values: Tensor, indices: [Int]) {
        let (outer, n, inner) = splitAround(axis)
        precondition(n > 0, "max: axis \(axis) of shape \(shape) is empty")
        var s = shape; s[self.axis(axis)] = 1
        var values = Tensor.zeros(s)
        var indices = [Int](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                var best = data[o * n * inner + i], arg = 0
                for k in 1..<n {
                    let v = data[(o * n + k) * inner + i]
                    if v > best || (v.isNaN && !best.isNaN) { best = v; arg = k }
                }
                values.data[o * inner + i] = best
                indices[o * inner + i] = arg
            }
        }
        if !keepDims { s.remove(at: self.axis(axis)); values = values.reshaped(s) }
        return (values, indices)
    }

    /// Largest element overall (`torch.max(x)`).
    public func max() -> Float { data.max() ?? -.infinity }
}

/// Softmax family along an axis.
extension Tensor {
    /// `torch.softmax(x, dim=axis)`, subtracting the maximum for stability.
    public func softmax(axis: Int = -1) -> Tensor { softmaxImpl(axis: axis, log: false) }
    /// `torch.log_softmax(x, dim=axis)`.
    public func logSoftmax(axis: Int = -1) -> Tensor { softmaxImpl(axis: axis, log: true) }

    private func softmaxImpl(axis: Int, log: Bool) -> Tensor {
        let (outer, n, inner) = splitAround(axis)
        var out = self
        if !log && inner == 1 && n > 0 {
            // Contiguous rows: the vectorised kernel that attention uses too.
            out.data.withUnsafeMutableBufferPointer { po in
                let P = po.baseAddress!
                Parallel.forRanges(outer, costPerItem: n * 4) { r in for o in r { ssm_softmax_row(P + o * n, n) } }
            }
            return out
        }
        out.data.withUnsafeMutableBufferPointer { po in
            let P = po.baseAddress!
            Parallel.forRanges(outer * inner, costPerItem: n * 4) { r in
                for oi in r {
                    let o = oi / inner, i = oi % inner
                    let base = P + o * n * inner + i
                    var m = -Float.infinity
                    for k in 0..<n { m = Swift.max(m, base[k * inner]) }
                    var s: Float = 0
                    if log {
                        for k in 0..<n { s += Foundation.exp(base[k * inner] - m) }
                        let lse = m + Foundation.log(s)
                        for k in 0..<n { base[k * inner] -= lse }
                    } else {
                        for k in 0..<n { let e = Foundation.exp(base[k * inner] - m); base[k * inner] = e; s += e }
                        let inv = 1 / s
                        for k in 0..<n { base[k * inner] *= inv }
                    }
                }
            }
        }
        return out
    }

    /// Gradient of softmax given its output y and upstream g: y * (g - sum(g * y)).
    static func softmaxBackward(y: Tensor, grad g: Tensor, axis: Int) -> Tensor {
        let (outer, n, inner) = y.splitAround(axis)
        guard inner == 1, n > 0, g.shape == y.shape else {
            let gy = g * y
            return gy - y * gy.sum(axes: [axis], keepDims: true)
        }
        // Contiguous rows (attention's case, rows of thousands): one fused kernel per row,
        // dx = y * (g - sum(y * g)), two passes over the row instead of five and one allocation instead of four.
        var out = g
        y.data.withUnsafeBufferPointer { py in
            out.data.withUnsafeMutableBufferPointer { po in
                let Y = py.baseAddress!, O = po.baseAddress!
                Parallel.forRanges(outer, costPerItem: n * 4) { r in
                    for o in r {
                        ssm_softmax_grad_row(Y + o * n, O + o * n, n, ssm_dot(Y + o * n, O + o * n, n))
                    }
                }
            }
        }
        return out
    }

    /// Gradient of log-softmax given its output y and upstream g: g - softmax * sum(g).
    static func logSoftmaxBackward(y: Tensor, grad g: Tensor, axis: Int) -> Tensor {
        g - y.exp() * g.sum(axes: [axis], keepDims: true)
    }
}
