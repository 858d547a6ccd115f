import Foundation

/// Linear interpolation weights along one axis: out[i] = w0[i] * in[i0[i]] + w1[i] * in[i1[i]].
struct LinearAxisWeights {
    var i0: [Int], i1: [Int], w0: [Float], w1: [Float]

    /// PyTorch's `upsample_linear`/`bilinear` source index rule for `align_corners`.
    init(inSize: Int, outSize: Int, alignCorners: Bool) {
        i0 = []; i1 = []; w0 = []; w1 = []
        let scale: Float = alignCorners ? (outSize > 1 ? Float(inSize - 1) / Float(outSize - 1) : 0)
                                        : Float(inSize) / Float(outSize)
        for d in 0..<outSize {
            var src = alignCorners ? scale * Float(d) : scale * (Float(d) + 0.5) - 0.5
            if src < 0 { src = 0 }
            let lo = Swift.min(Int(src), inSize - 1)
            let hi = lo < inSize - 1 ? lo + 1 : lo
            let l1 = src - Float(lo)
            i0.append(lo); i1.append(hi); w0.append(1 - l1); w1.append(l1)
        }
    }
}

extension Tensor {
    /// Interpolates along one axis of the (outer, n, inner) view, or (adjoint) scatters back.
    static func interpolateAxis(_ x: Tensor, axis: Int, weights: LinearAxisWeights, size: Int, adjoint: Bool) -> Tensor {
        let (outer, _, inner) = x.splitAround(axis)
        var s = x.shape; s[x.axis(axis)] = size
        var out = Tensor.zeros(s)
        let nIn = x.shape[x.axis(axis)]
        x.data.withUnsafeBufferPointer { px in
            out.data.withUnsafeMutableBufferPointer { po in
                let X = px.baseAddress!, O = po.baseAddress!
                Parallel.forRanges(outer, costPerItem: nIn * inner * 2) { r in
                    for o in r {
                        if !adjoint {
                            for d in 0..<size {
                                let a = X + (o * nIn + weights.i0[d]) * inner, b = X + (o * nIn + weights.i1[d]) * inner
                                let dst = O + (o * size + d) * inner, w0 = weights.w0[d], w1 = weights.w1[d]
                                for i in 0..<inner { dst[i] = w0 * a[i] + w1 * b[i] }
                            }
                        } else {
                            for d in 0..<nIn {
                                let g = X + (o * nIn + d) * inner
                                let a = O + (o * size + weights.i0[d]) * inner, b = O + (o * size + weights.i1[d]) * inner
                                let w0 = weights.w0[d], w1 = weights.w1[d]
                                for i in 0..<inner { a[i] += w0 * g[i]; b[i] += w1 * g[i] }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// `F.interpolate(x, size=(h, w), mode="bilinear", align_corners=...)` on N x C x H x W.
    public func resizeBilinear(height: Int, width: Int, alignCorners: Bool = false) -> Tensor {
        precondition(rank == 4 && height > 0 && width > 0 && shape[2] > 0 && shape[3] > 0,
                     "resizeBilinear expects a non-empty N x C x H x W and a positive size, got \(shape) -> (\(height), \(width))")
        let wy = LinearAxisWeights(inSize: shape[2], outSize: height, alignCorners: alignCorners)
        let wx = LinearAxisWeights(inSize: shape[3], outSize: width, alignCorners: alignCorners)
        let rows = Tensor.interpolateAxis(self, axis: 2, weights: wy, size: height, adjoint: false)
        return Tensor.interpolateAxis(rows, axis: 3, weights: wx, size: width, adjoint: false)
    }

    /// Gradient of `resizeBilinear` with respect to its input of shape `inputShape`.
    public static func resizeBilinearBackward(_ grad: Tensor, inputShape: [Int], alignCorners: Bool) -> Tensor {
        let wy = LinearAxisWeights(inSize: inputShape[2], outSize: grad.shape[2], alignCorners: alignCorners)
        let wx = LinearAxisWeights(inSize: inputShape[3], outSize: grad.shape[3], alignCorners: alignCorners)
        let cols = interpolateAxis(grad, axis: 3, weights: wx, size: inputShape[3], adjoint: true)
        return interpolateAxis(cols, axis: 2, weights: wy, size: inputShape[2], adjoint: true)
    }

    /// 1-D linear interpolation of a table (L, C) along its length to (newLength, C): SAM's resize of
    /// relative-position tables, `F.interpolate(t.T[None], size=newLength, mode="linear").T`.
    public func interpolateRows(to newLength: Int) -> Tensor {
        precondition(rank == 2 && newLength > 0 && shape[0] > 0, "interpolateRows expects a non-empty L x C and a positive length, got \(shape) -> \(newLength)")
        let w = LinearAxisWeights(inSize: shape[0], outSize: newLength, alignCorners: false)
        return Tensor.interpolateAxis(self, axis: 0, weights: w, size: newLength, adjoint: false)
    }

    /// Gradient of `interpolateRows` with respect to the table of length `length`.
    public static func interpolateRowsBackward(_ grad: Tensor, length: Int) -> Tensor {
        let w = LinearAxisWeights(inSize: length, outSize: grad.shape[0], alignCorners: false)
        return interpolateAxis(grad, axis: 0, weights: w, size: length, adjoint: true)
    }
}

/// Bilinear sampling at arbitrary points: `F.grid_sample(x, grid, mode="bilinear",
/// padding_mode="zeros", align_corners=False)`, grid (N, Ho, Wo, 2) holding (x, y) in [-1, 1].
extension Tensor {
    public func gridSample(_ grid: Tensor) -> Tensor { Tensor.gridSampleImpl(self, grid, gradOut: nil).out }

    /// Gradients of `gridSample` with respect to the input and the grid.
    public static func gridSampleBackward(_ x: Tensor, grid: Tensor, grad: Tensor) -> (input: Tensor, grid: Tensor) {
        let r = gridSampleImpl(x, grid, gradOut: grad)
        return (r.dInput!, r.dGrid!)
    }

    private static func gridSampleImpl(_ x: Tensor, _ grid: Tensor, gradOut: Tensor?)
        -> (out: Tensor, dInput: Tensor?, dGrid: Tensor?) {
        precondition(x.rank == 4 && grid.rank == 4 && grid.shape[3] == 2 && grid.shape[0] == x.shape[0],
                     "gridSample expects input N x C x H x W and grid N x Ho x Wo x 2, got \(x.shape) and \(grid.shape)")
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (ho, wo) = (grid.shape[1], grid.shape[2])
        var out = Tensor.zeros(gradOut == nil ? [n, c, ho, wo] : [0])
        var dIn = gradOut == nil ? nil : Tensor.zeros(x.shape)
        var dGrid = gradOut == nil ? nil : Tensor.zeros(grid.shape)
        for b in 0..<n {
            for p in 0..<(ho * wo) {
                let gx = grid.data[(b * ho * wo + p) * 2], gy = grid.data[(b * ho * wo + p) * 2 + 1]
                // Unnormalise (align_corners=False): -1 is the left edge of pixel 0.
                let ix = ((gx + 1) * Float(w) - 1) / 2, iy = ((gy + 1) * Float(h) - 1) / 2
                let x0 = Int(Foundation.floor(ix)), y0 = Int(Foundation.floor(iy))
                let tx = ix - Float(x0), ty = iy - Float(y0)
                let corners = [(y0, x0, (1 - ty) * (1 - tx)), (y0, x0 + 1, (1 - ty) * tx),
                               (y0 + 1, x0, ty * (1 - tx)), (y0 + 1, x0 + 1, ty * tx)]
                var dgx: Float = 0, dgy: Float = 0
                for ch in 0..<c {
                    let plane = (b * c + ch) * h * w
                    let o = (b * c + ch) * ho * wo + p
                    var acc: Float = 0
                    var vals: [Float] = [0, 0, 0, 0]
                    for (k, (yy, xx, wt)) in corners.enumerated() where yy >= 0 && yy < h && xx >= 0 && xx < w {
                        vals[k] = x.data[plane + yy * w + xx]
                        acc += wt * vals[k]
                        if let g = gradOut { dIn!.data[plane + yy * w + xx] += wt * g.data[o] }
                    }
                    if let g = gradOut {
                        // d/dix and d/diy of the bilinear blend, times the upstream gradient.
                        let gi = g.data[o]
                        dgx += gi * ((1 - ty) * (vals[1] - vals[0]) + ty * (vals[3] - vals[2]))
                        dgy += gi * ((1 - tx) * (vals[2] - vals[0]) + tx * (vals[3] - vals[1]))
                    } else {
                        out.data[o] = acc
                    }
                }
                if gradOut != nil {
                    dGrid!.data[(b * ho * wo + p) * 2] = dgx * Float(w) / 2
                    dGrid!.data[(b * ho * wo + p) * 2 + 1] = dgy * Float(h) / 2
                }
            }
        }
        return (out, dIn, dGrid)
    }
}

/// Gaussian blur as torchvision's `gaussian_blur`: a normalised kernel of `kernelSize` taps with
/// standard deviation `sigma`, reflect padding, applied to every channel of N x C x H x W.
extension Tensor {
    /// The normalised 1-D Gaussian kernel torchvision builds.
    public static func gaussianKernel(size: Int, sigma: Float) -> [Float] {
        let half = Float(size - 1) * 0.5
        let step = size > 1 ? 2 * half / Float(size - 1) : 0
        let pdf = (0..<size).map { i -> Float in let x = -half + Float(i) * step; return Foundation.exp(-0.5 * (x / sigma) * (x / sigma)) }
        let s = pdf.reduce(0, +)
        return pdf.map { $0 / s }
    }

    public func gaussianBlur(kernelSize: Int, sigma: Float) -> Tensor {
        Tensor.blur(self, kernelSize: kernelSize, sigma: sigma, adjoint: false)
    }

    /// Gradient of `gaussianBlur` with respect to its input.
    public static func gaussianBlurBackward(_ grad: Tensor, kernelSize: Int, sigma: Float) -> Tensor {
        blur(grad, kernelSize: kernelSize, sigma: sigma, adjoint: true)
    }

    private static func blur(_ x: Tensor, kernelSize: Int, sigma: Float, adjoint: Bool) -> Tensor {
        precondition(x.rank == 4 && kernelSize % 2 == 1 && kernelSize / 2 < Swift.min(x.shape[2], x.shape[3]),
                     "gaussianBlur expects N x C x H x W larger than half the odd kernel size \(kernelSize), got \(x.shape)")
        let k = gaussianKernel(size: kernelSize, sigma: sigma)
        // Separable: along W then H; the adjoint runs the transposed passes in reverse order.
        if adjoint { return reflectConv(reflectConv(x, axis: 2, k, adjoint: true), axis: 3, k, adjoint: true) }
        return reflectConv(reflectConv(x, axis: 3, k, adjoint: false), axis: 2, k, adjoint: false)
    }

    /// out[i] = sum_t k[t] * x[reflect(i + t - r)] along `axis`, or its transpose.
    private static func reflectConv(_ x: Tensor, axis: Int, _ k: [Float], adjoint: Bool) -> Tensor {
        let (outer, n, inner) = x.splitAround(axis)
        let r = k.count / 2
        func reflect(_ i: Int) -> Int { i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i) }
        var out = Tensor.zeros(x.shape)
        for o in 0..<outer {
            for i in 0..<n {
                for t in 0..<k.count {
                    let j = reflect(i + t - r)
                    let (dst, src) = adjoint ? (j, i) : (i, j)
                    let a = (o * n + dst) * inner, b = (o * n + src) * inner
                    for q in 0..<inner { out.data[a + q] += k[t] * x.data[b + q] }
                }
            }
        }
        return out
    }
}
