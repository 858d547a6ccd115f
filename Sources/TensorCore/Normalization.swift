import CKernels
import Foundation

/// Normalisation over one axis of an (outer, n, inner) layout: the shared core of LayerNorm (last axis),
/// SAM's LayerNorm2d (channel axis of NCHW) and InstanceNorm (spatial axes).
public struct NormalizationResult {
    /// (x - mean) / sqrt(var + eps), same shape as the input.
    public var normalized: Tensor
    /// 1 / sqrt(var + eps) per (outer, inner) position.
    public var inverseStd: [Float]
}

extension Tensor {
    /// Normalises along the middle axis of the (outer, n, inner) view; biased variance, as PyTorch.
    public func normalized(outer: Int, n: Int, inner: Int, eps: Float) -> NormalizationResult {
        precondition(outer * n * inner == count, "normalized: \(outer)x\(n)x\(inner) does not cover shape \(shape)")
        var out = self
        var rstd = [Float](repeating: 0, count: outer * inner)
        if inner > 1 {
            // Channels-first (LayerNorm2d): statistics of a block of columns at once, walking the n rows of
            // the block contiguously (vector loops) instead of one strided column at a time.
            let block = 256, blocks = (inner + block - 1) / block
            out.data.withUnsafeMutableBufferPointer { po in rstd.withUnsafeMutableBufferPointer { pr in
                let P = po.baseAddress!, R = pr.baseAddress!
                Parallel.forRanges(outer * blocks, costPerItem: n * block * 3) { r in
                    var mean = [Double](repeating: 0, count: block), v = [Double](repeating: 0, count: block)
                    var m32 = [Float](repeating: 0, count: block), inv = [Float](repeating: 0, count: block)
                    for item in r {
                        let o = item / blocks, c0 = (item % blocks) * block, w = Swift.min(block, inner - c0)
                        let base = P + o * n * inner + c0
                        for c in 0..<w { mean[c] = 0; v[c] = 0 }
                        for k in 0..<n { let row = base + k * inner; for c in 0..<w { mean[c] += Double(row[c]) } }
                        for c in 0..<w { mean[c] /= Double(n) }
                        for k in 0..<n { let row = base + k * inner; for c in 0..<w { let d = Double(row[c]) - mean[c]; v[c] += d * d } }
                        for c in 0..<w {
                            inv[c] = Float(1 / (v[c] / Double(n) + Double(eps)).squareRoot())
                            m32[c] = Float(mean[c])
                            R[o * inner + c0 + c] = inv[c]
                        }
                        for k in 0..<n { let row = base + k * inner; for c in 0..<w { row[c] = (row[c] - m32[c]) * inv[c] } }
                    }
                }
            } }
            return NormalizationResult(normalized: out, inverseStd: rstd)
        }
        out.data.withUnsafeMutableBufferPointer { po in
            rstd.withUnsafeMutableBufferPointer { pr in
                let P = po.baseAddress!, R = pr.baseAddress!
                Parallel.forRanges(outer * inner, costPerItem: n * 3) { r in
                    for oi in r {
                        let o = oi / inner, i = oi % inner
                        let base = P + o * n * inner + i
                        var mean: Double = 0
                        for k in 0..<n { mean += Double(base[k * inner]) }
                        mean /= Double(n)
                        var v: Double = 0
                        for k in 0..<n { let d = Double(base[k * inner]) - mean; v += d * d }
                        let inv = Float(1 / (v / Double(n) + Double(eps)).squareRoot())
                        let m = Float(mean)
                        for k in 0..<n { base[k * inner] = (base[k * inner] - m) * inv }
                        R[oi] = inv
                    }
                }
            }
        }
        return NormalizationResult(normalized: out, inverseStd: rstd)
    }

    /// Gradient through the normalisation: dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) along n.
    public static func normalizedBackward(_ res: NormalizationResult, grad g: Tensor,
                                          outer: Int, n: Int, inner: Int) -> Tensor {
        var dx = g
        let xhat = res.normalized
        dx.data.withUnsafeMutableBufferPointer { pd in
            xhat.data.withUnsafeBufferPointer { px in
                let D = pd.baseAddress!, X = px.baseAddress!
                Parallel.forRanges(outer * inner, costPerItem: n * 3) { r in
                    for oi in r {
                        let o = oi / inner, i = oi % inner
                        let off = o * n * inner + i
                        var sg: Float = 0, sgx: Float = 0
                        for k in 0..<n { let j = off + k * inner; sg += D[j]; sgx += D[j] * X[j] }
                        let mg = sg / Float(n), mgx = sgx / Float(n), inv = res.inverseStd[oi]
                        for k in 0..<n { let j = off + k * inner; D[j] = inv * (D[j] - mg - X[j] * mgx) }
                    }
                }
            }
        }
        return dx
    }

    /// `torch.nn.functional.layer_norm` over the last axis, with optional affine weight and bias.
    /// One fused pass per row (CKernels) when both affine terms are given, as in every SAM layer norm.
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
        let n = shape.last ?? 1
        if let w = weight { precondition(w.shape == [n], "layerNorm: weight \(w.shape) vs input \(shape)") }
        if let b = bias { precondition(b.shape == [n], "layerNorm: bias \(b.shape) vs input \(shape)") }
        if let w = weight, let b = bias, n > 0 {
            var y = Tensor(uninitializedShape: shape)
            let rows = count / n
            data.withUnsafeBufferPointer { px in y.data.withUnsafeMutableBufferPointer { py in
                w.data.withUnsafeBufferPointer { pw in b.data.withUnsafeBufferPointer { pb in
                    let (X, Y, W, B) = (px.baseAddress!, py.baseAddress!, pw.baseAddress!, pb.baseAddress!)
                    Parallel.forRanges(rows, costPerItem: n * 3) { r in
                        ssm_layer_norm_rows(X + r.lowerBound * n, Y + r.lowerBound * n, r.count, n, W, B, eps)
                    }
                } }
            } }
            return y
        }
        var y = normalized(outer: count / Swift.max(n, 1), n: n, inner: 1, eps: eps).normalized
        if let w = weight { y = y * w }
        if let b = bias { y = y + b }
        return y
    }

    /// SAM's `LayerNorm2d`: normalises an NCHW tensor over C at each pixel, then weight[c] * x + bias[c].
    public func layerNorm2d(weight: Tensor, bias: Tensor, eps: Float = 1e-6) -> Tensor {
        precondition(rank == 4, "layerNorm2d expects N x C x H x W, got \(shape)")
        let c = shape[1]
        precondition(weight.shape == [c] && bias.shape == [c], "layerNorm2d: weight \(weight.shape) / bias \(bias.shape) vs input \(shape)")
        let y = normalized(outer: shape[0], n: c, inner: shape[2] * shape[3], eps: eps).normalized
        return y * weight.reshaped([c, 1, 1]) + bias.reshaped([c, 1, 1])
    }

    /// `torch.nn.functional.instance_norm` (no running stats): normalises each (n, c) plane over H x W.
    public func instanceNorm(weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-5) -> Tensor {
        precondition(rank >= 3, "instanceNorm expects N x C x spatial..., got \(shape)")
        let c = shape[1], spatial = Array(shape[2...]).product
        var y = normalized(outer: shape[0] * c, n: spatial, inner: 1, eps: eps).normalized
        let bshape = [c] + [Int](repeating: 1, count: rank - 2)
        if let w = weight { y = y * w.reshaped(bshape) }
        if let b = bias { y = y + b.reshaped(bshape) }
        return y
    }
}
