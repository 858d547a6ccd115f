import Diagnostics

/// 2-D convolution geometry (`torch.nn.functional.conv2d`: stride, zero padding, groups; dilation 1).
public struct Conv2dGeometry: Equatable, Sendable {
    public var n, cIn, h, w, cOut, kh, kw, strideH, strideW, padH, padW, groups: Int
    public var hOut: Int { (h + 2 * padH - kh) / strideH + 1 }
    public var wOut: Int { (w + 2 * padW - kw) / strideW + 1 }
    var cInPerGroup: Int { cIn / groups }
    var cOutPerGroup: Int { cOut / groups }
    /// Rows of the im2col matrix per group.
    var patch: Int { cInPerGroup * kh * kw }
    /// True when the convolution is a plain GEMM on the input (1x1, stride 1, no padding).
    var isPointwise: Bool { kh == 1 && kw == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0 }

    /// Validates input (N, C, H, W) against weight (O, C / groups, kh, kw).
    public init(input: [Int], weight: [Int], stride: (Int, Int), padding: (Int, Int), groups: Int) throws {
        guard input.count == 4, weight.count == 4 else {
            throw ToolkitError(.mismatch, "conv2d expects input N x C x H x W and weight O x C/g x kh x kw, got \(input) and \(weight)")
        }
        guard groups >= 1, input[1] % groups == 0, weight[0] % groups == 0, weight[1] * groups == input[1] else {
            throw ToolkitError(.mismatch, "conv2d: input \(input) and weight \(weight) do not match with groups=\(groups)")
        }
        (n, cIn, h, w) = (input[0], input[1], input[2], input[3])
        (cOut, kh, kw) = (weight[0], weight[2], weight[3])
        (strideH, strideW, padH, padW, self.groups) = (stride.0, stride.1, padding.0, padding.1, groups)
        guard strideH > 0, strideW > 0, padH >= 0, padW >= 0, h + 2 * padH >= kh, w + 2 * padW >= kw else {
            throw ToolkitError(.mismatch, "conv2d: kernel \(weight) with stride \(stride), padding \(padding) does not fit input \(input)")
        }
    }
}

extension Tensor {
    /// Unfolds one image's group of channels into columns (patch x hOut*wOut), zero outside the image.
    static func im2col(_ x: UnsafePointer<Float>, _ g: Conv2dGeometry, into col: UnsafeMutablePointer<Float>) {
        let hw = g.hOut * g.wOut
        Parallel.forRanges(g.patch, costPerItem: hw) { r in
            for row in r {
                let c = row / (g.kh * g.kw), ki = (row / g.kw) % g.kh, kj = row % g.kw
                let plane = x + c * g.h * g.w
                let dst = col + row * hw
                for oy in 0..<g.hOut {
                    let iy = oy * g.strideH - g.padH + ki
                    let line = dst + oy * g.wOut
                    if iy < 0 || iy >= g.h { line.update(repeating: 0, count: g.wOut); continue }
                    for ox in 0..<g.wOut {
                        let ix = ox * g.strideW - g.padW + kj
                        line[ox] = (ix >= 0 && ix < g.w) ? plane[iy * g.w + ix] : 0
                    }
                }
            }
        }
    }

    /// Adds columns back into an image (the adjoint of `im2col`).
    static func col2im(_ col: UnsafePointer<Float>, _ g: Conv2dGeometry, into x: UnsafeMutablePointer<Float>) {
        let hw = g.hOut * g.wOut
        // Parallel over channels: each channel's rows touch only that channel's plane.
        Parallel.forRanges(g.cInPerGroup, costPerItem: g.kh * g.kw * hw) { r in
            for c in r {
                let plane = x + c * g.h * g.w
                for ki in 0..<g.kh {
                    for kj in 0..<g.kw {
                        let src = col + ((c * g.kh + ki) * g.kw + kj) * hw
                        for oy in 0..<g.hOut {
                            let iy = oy * g.strideH - g.padH + ki
                            if iy < 0 || iy >= g.h { continue }
                            for ox in 0..<g.wOut {
                                let ix = ox * g.strideW - g.padW + kj
                                if ix >= 0 && ix < g.w { plane[iy * g.w + ix] += src[oy * g.wOut + ox] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `torch.nn.functional.conv2d(x, weight, bias, stride, padding, groups=groups)`, by im2col + GEMM
    /// (the input itself is the GEMM operand for 1x1 convolutions).
    public static func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int) = (1, 1),
                              padding: (Int, Int) = (0, 0), groups: Int = 1) -> Tensor {
        let g = checked { try Conv2dGeometry(input: x.shape, weight: weight.shape, stride: stride, padding: padding, groups: groups) }
        if let b = bias { precondition(b.shape == [g.cOut], "conv2d: bias \(b.shape) vs weight \(weight.shape)") }
        if isDepthwise(g) { return depthwiseConv2d(x, weight: weight, bias: bias, g) }
        let hw = g.hOut * g.wOut
        // The GEMMs accumulate onto the bias (beta 1), which saves a pass over the output.
        let shape = [g.n, g.cOut, g.hOut, g.wOut]
        var out = bias == nil ? Tensor.zeros(shape) : Tensor(uninitializedShape: shape)
        if let b = bias {
            out.data.withUnsafeMutableBufferPointer { po in
                let o = po.baseAddress!
                Parallel.forRanges(g.n * g.cOut, costPerItem: hw) { planes in
                    for plane in planes { (o + plane * hw).update(repeating: b.data[plane % g.cOut], count: hw) }
                }
            }
        }
        var col = [Float](repeating: 0, count: g.isPointwise ? 0 : g.patch * hw)
        x.data.withUnsafeBufferPointer { px in
            weight.data.withUnsafeBufferPointer { pw in
                out.data.withUnsafeMutableBufferPointer { po in
                    col.withUnsafeMutableBufferPointer { pc in
                        for n in 0..<g.n {
                            for grp in 0..<g.groups {
                                let xin = px.baseAddress! + (n * g.cIn + grp * g.cInPerGroup) * g.h * g.w
                                let operand: UnsafePointer<Float>
                                if g.isPointwise { operand = xin } else {
                                    im2col(xin, g, into: pc.baseAddress!)
                                    operand = UnsafePointer(pc.baseAddress!)
                                }
                                BLAS.sgemm(transA: false, transB: false, m: g.cOutPerGroup, n: hw, k: g.patch,
                                           a: pw.baseAddress! + grp * g.cOutPerGroup * g.patch, lda: g.patch,
                                           b: operand, ldb: hw, beta: bias == nil ? 0 : 1,
                                           c: po.baseAddress! + (n * g.cOut + grp * g.cOutPerGroup) * hw, ldc: hw)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Gradients of `conv2d` with respect to its input and weight (bias: sum of `grad` over N, H, W).
    public static func conv2dBackward(_ x: Tensor, weight: Tensor, grad: Tensor, stride: (Int, Int), padding: (Int, Int),
                                      groups: Int, needInput: Bool, needWeight: Bool) -> (input: Tensor?, weight: Tensor?) {
        let g = checked { try Conv2dGeometry(input: x.shape, weight: weight.shape, stride: stride, padding: padding, groups: groups) }
        precondition(grad.shape == [g.n, g.cOut, g.hOut, g.wOut], "conv2d backward: grad \(grad.shape) vs output [\(g.n), \(g.cOut), \(g.hOut), \(g.wOut)]")
        let hw = g.hOut * g.wOut
        var dx = needInput ? Tensor.zeros(x.shape) : nil
        var dw = needWeight ? Tensor.zeros(weight.shape) : nil
        var col = [Float](repeating: 0, count: g.patch * hw)
        x.data.withUnsafeBufferPointer { px in
            weight.data.withUnsafeBufferPointer { pw in
                grad.data.withUnsafeBufferPointer { pg in
                    col.withUnsafeMutableBufferPointer { pc in
                        for n in 0..<g.n {
                            for grp in 0..<g.groups {
                                let xin = px.baseAddress! + (n * g.cIn + grp * g.cInPerGroup) * g.h * g.w
                                let gout = pg.baseAddress! + (n * g.cOut + grp * g.cOutPerGroup) * hw
                                let wg = pw.baseAddress! + grp * g.cOutPerGroup * g.patch
                                if needWeight {
                                    let operand: UnsafePointer<Float>
                                    if g.isPointwise { operand = xin } else { im2col(xin, g, into: pc.baseAddress!); operand = UnsafePointer(pc.baseAddress!) }
                                    dw!.data.withUnsafeMutableBufferPointer { pdw in
                                        BLAS.sgemm(transA: false, transB: true, m: g.cOutPerGroup, n: g.patch, k: hw,
                                                   a: gout, lda: hw, b: operand, ldb: hw, beta: 1,
                                                   c: pdw.baseAddress! + grp * g.cOutPerGroup * g.patch, ldc: g.patch)
                                    }
                                }
                                if needInput {
                                    dx!.data.withUnsafeMutableBufferPointer { pdx in
                                        let dxin = pdx.baseAddress! + (n * g.cIn + grp * g.cInPerGroup) * g.h * g.w
                                        if g.isPointwise {
                                            BLAS.sgemm(transA: true, transB: false, m: g.patch, n: hw, k: g.cOutPerGroup,
                                                       a: wg, lda: g.patch, b: gout, ldb: hw, beta: 1, c: dxin, ldc: hw)
                                        } else {
                                            BLAS.sgemm(transA: true, transB: false, m: g.patch, n: hw, k: g.cOutPerGroup,
                                                       a: wg, lda: g.patch, b: gout, ldb: hw, c: pc.baseAddress!, ldc: hw)
                                            col2im(pc.baseAddress!, g, into: dxin)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dx, dw)
    }

    /// `torch.nn.functional.conv_transpose2d` with kernel size == stride (SAM's 2x2 stride-2 upscaling):
    /// input (N, Cin, H, W), weight (Cin, Cout, k, k) -> (N, Cout, H*k, W*k). Patches do not overlap,
    /// so it is one GEMM per image followed by a scatter.
    public static func convTranspose2d(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        let (n, cin, h, w, cout, k) = convTransposeShapes(x, weight)
        if let b = bias { precondition(b.shape == [cout], "convTranspose2d: bias \(b.shape) vs weight \(weight.shape)") }
        let hw = h * w, rows = cout * k * k
        var out = Tensor.zeros([n, cout, h * k, w * k])
        var tmp = [Float](repeating: 0, count: rows * hw)
        for img in 0..<n {
            x.data.withUnsafeBufferPointer { px in
                weight.data.withUnsafeBufferPointer { pw in
                    tmp.withUnsafeMutableBufferPointer { pt in
                        // tmp (Cout*k*k, HW) = Wᵀ (Cout*k*k, Cin) @ X (Cin, HW)
                        BLAS.sgemm(transA: true, transB: false, m: rows, n: hw, k: cin, a: pw.baseAddress!, lda: rows,
                                   b: px.baseAddress! + img * cin * hw, ldb: hw, c: pt.baseAddress!, ldc: hw)
                    }
                }
            }
            let base = img * cout * hw * k * k
            for co in 0..<cout { for i in 0..<k { for j in 0..<k {
                let src = ((co * k + i) * k + j) * hw
                for y in 0..<h { for xx in 0..<w {
                    out.data[base + (co * h * k + y * k + i) * w * k + xx * k + j] = tmp[src + y * w + xx]
                } }
            } } }
        }
        if let b = bias { out = out + b.reshaped([cout, 1, 1]) }
        return out
    }

    static func convTransposeShapes(_ x: Tensor, _ weight: Tensor) -> (Int, Int, Int, Int, Int, Int) {
        precondition(x.rank == 4 && weight.rank == 4 && weight.shape[0] == x.shape[1] && weight.shape[2] == weight.shape[3],
                     "convTranspose2d expects input N x Cin x H x W and weight Cin x Cout x k x k, got \(x.shape) and \(weight.shape)")
        return (x.shape[0], x.shape[1], x.shape[2], x.shape[3], weight.shape[1], weight.shape[2])
    }

    /// Gradients of `convTranspose2d` (kernel == stride) with respect to input and weight.
    public static func convTranspose2dBackward(_ x: Tensor, weight: Tensor, grad: Tensor) -> (input: Tensor, weight: Tensor) {
        let (n, cin, h, w, cout, k) = convTransposeShapes(x, weight)
        let hw = h * w, rows = cout * k * k
        var dx = Tensor.zeros(x.shape), dw = Tensor.zeros(weight.shape)
        var gathered = [Float](repeating: 0, count: rows * hw)
        for img in 0..<n {
            let base = img * cout * hw * k * k
            for co in 0..<cout { for i in 0..<k { for j in 0..<k {
                let dst = ((co * k + i) * k + j) * hw
                for y in 0..<h { for xx in 0..<w {
                    gathered[dst + y * w + xx] = grad.data[base + (co * h * k + y * k + i) * w * k + xx * k + j]
                } }
            } } }
            x.data.withUnsafeBufferPointer { px in
                weight.data.withUnsafeBufferPointer { pw in
                    gathered.withUnsafeBufferPointer { pg in
                        dx.data.withUnsafeMutableBufferPointer { pdx in
                            // dX (Cin, HW) = W (Cin, rows) @ G (rows, HW)
                            BLAS.sgemm(transA: false, transB: false, m: cin, n: hw, k: rows, a: pw.baseAddress!, lda: rows,
                                       b: pg.baseAddress!, ldb: hw, c: pdx.baseAddress! + img * cin * hw, ldc: hw)
                        }
                        dw.data.withUnsafeMutableBufferPointer { pdw in
                            // dW (Cin, rows) += X (Cin, HW) @ Gᵀ (HW, rows)
                            BLAS.sgemm(transA: false, transB: true, m: cin, n: rows, k: hw, a: px.baseAddress! + img * cin * hw, lda: hw,
                                       b: pg.baseAddress!, ldb: hw, beta: 1, c: pdw.baseAddress!, ldc: rows)
                        }
                    }
                }
            }
        }
        return (dx, dw)
    }
}
