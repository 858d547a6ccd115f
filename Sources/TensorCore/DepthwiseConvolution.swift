/// Depthwise convolution (one filter per channel: groups == channels in == channels out) computed
/// directly. Through im2col + GEMM each channel would be its own 1-row GEMM over a freshly unfolded
/// patch matrix; TinyViT runs several of these at 256 x 256, where the direct loop is several times faster.
extension Tensor {
    /// Whether `conv2d` with this geometry takes the direct depthwise path.
    static func isDepthwise(_ g: Conv2dGeometry) -> Bool {
        g.groups > 1 && g.groups == g.cIn && g.cOut == g.cIn
    }

    /// `conv2d` for a depthwise geometry: out[n, c] = bias[c] + sum over the kernel of w[c] * x[n, c] (shifted).
    static func depthwiseConv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, _ g: Conv2dGeometry) -> Tensor {
        let (hOut, wOut) = (g.hOut, g.wOut)
        var out = Tensor(uninitializedShape: [g.n, g.cOut, hOut, wOut])
        x.data.withUnsafeBufferPointer { px in weight.data.withUnsafeBufferPointer { pw in
        out.data.withUnsafeMutableBufferPointer { po in
            let (X, W, O) = (px.baseAddress!, pw.baseAddress!, po.baseAddress!)
            let b = bias?.data
            Parallel.forRanges(g.n * g.cIn, costPerItem: hOut * wOut * g.kh * g.kw) { planes in
                for plane in planes {
                    let c = plane % g.cIn
                    let src = X + plane * g.h * g.w, dst = O + plane * hOut * wOut, k = W + c * g.kh * g.kw
                    dst.update(repeating: b?[c] ?? 0, count: hOut * wOut)
                    for ki in 0..<g.kh {
                        for kj in 0..<g.kw {
                            let wv = k[ki * g.kw + kj]
                            // Output columns whose input column ox * stride - pad + kj lies inside the row.
                            let lo = Swift.max(0, (g.padW - kj + g.strideW - 1) / g.strideW)
                            let hi = Swift.min(wOut, (g.w - 1 + g.padW - kj) / g.strideW + 1)
                            if lo >= hi { continue }
                            for oy in 0..<hOut {
                                let iy = oy * g.strideH - g.padH + ki
                                if iy < 0 || iy >= g.h { continue }
                                let line = dst + oy * wOut, row = src + iy * g.w - g.padW + kj
                                if g.strideW == 1 {
                                    for ox in lo..<hi { line[ox] += wv * row[ox] }
                                } else {
                                    for ox in lo..<hi { line[ox] += wv * row[ox * g.strideW] }
                                }
                            }
                        }
                    }
                }
            }
        } } }
        return out
    }
}
