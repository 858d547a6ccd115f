/// Differentiable products, normalisations and convolutions.
extension Variable {
    /// `torch.matmul` with optional transposes of the last two axes (see `Tensor.matmul`).
    /// `alpha * torch.matmul(a, b)` (the scale inside GEMM, forward and backward).
    public static func matmul(_ a: Variable, _ b: Variable, transposeA: Bool = false, transposeB: Bool = false,
                              alpha: Float = 1) -> Variable {
        let y = Tensor.matmul(a.value, b.value, transposeA: transposeA, transposeB: transposeB, alpha: alpha)
        let sharedB = b.value.rank == 2 && a.value.rank > 2
        return Variable(y, inputs: [a, b]) { g in
            // y = alpha A' B' with A' = op(A), B' = op(B): dA' = alpha g B'ᵀ, dB' = alpha A'ᵀ g; transposes
            // become GEMM flags.
            var da: Tensor? = nil, db: Tensor? = nil
            if a.requiresGrad {
                if !transposeA {
                    da = Tensor.matmul(g, b.value, transposeB: !transposeB, alpha: alpha)
                } else if sharedB {
                    da = Tensor.matmul(g, b.value, transposeB: !transposeB, alpha: alpha).transposedLast2()
                } else {
                    da = Tensor.matmul(b.value, g, transposeA: transposeB, transposeB: true, alpha: alpha)
                }
            }
            if b.requiresGrad {
                var d = transposeB ? Tensor.matmul(g, a.value, transposeA: true, transposeB: transposeA, alpha: alpha)
                                   : Tensor.matmul(a.value, g, transposeA: !transposeA, alpha: alpha)
                if sharedB { d = d.sum(axes: Array(0..<(d.rank - 2))) }  // B was shared across the batch
                db = d
            }
            return [da, db]
        }
    }

    /// `F.linear(x, weight, bias)`.
    public static func linear(_ x: Variable, weight: Variable, bias: Variable?) -> Variable {
        let y = Tensor.linear(x.value, weight: weight.value, bias: bias?.value)
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        return Variable(y, inputs: inputs) { g in
            let g2 = g.reshaped([-1, weight.shape[0]])
            let dx = x.requiresGrad ? Tensor.matmul(g, weight.value) : nil
            let dw = weight.requiresGrad ? Tensor.matmul(g2, x.value.reshaped([-1, weight.shape[1]]), transposeA: true) : nil
            let db = (bias?.requiresGrad ?? false) ? g2.sum(axes: [0]) : nil
            return [dx, dw, db]
        }
    }

    /// Normalisation along the middle axis of (outer, n, inner), then optional per-channel affine.
    private func normalize(outer: Int, n: Int, inner: Int, eps: Float) -> Variable {
        let res = value.normalized(outer: outer, n: n, inner: inner, eps: eps)
        return Variable(res.normalized, inputs: [self]) { g in
            [Tensor.normalizedBackward(res, grad: g, outer: outer, n: n, inner: inner)]
        }
    }

    /// `F.layer_norm` over the last axis.
    public func layerNorm(weight: Variable?, bias: Variable?, eps: Float = 1e-5) -> Variable {
        let n = shape.last ?? 1
        if let w = weight, let b = bias, !(requiresGrad || w.requiresGrad || b.requiresGrad) || !Variable.isRecording {
            return Variable(value.layerNorm(weight: w.value, bias: b.value, eps: eps))  // inference: fused kernel
        }
        var y = normalize(outer: value.count / Swift.max(n, 1), n: n, inner: 1, eps: eps)
        if let w = weight { y = y * w }
        if let b = bias { y = y + b }
        return y
    }

    /// SAM's `LayerNorm2d` over the channel axis of N x C x H x W.
    public func layerNorm2d(weight: Variable, bias: Variable, eps: Float = 1e-6) -> Variable {
        precondition(shape.count == 4, "layerNorm2d expects N x C x H x W, got \(shape)")
        let c = shape[1]
        let y = normalize(outer: shape[0], n: c, inner: shape[2] * shape[3], eps: eps)
        return y * weight.reshaped([c, 1, 1]) + bias.reshaped([c, 1, 1])
    }

    /// `F.instance_norm` without running statistics.
    public func instanceNorm(weight: Variable? = nil, bias: Variable? = nil, eps: Float = 1e-5) -> Variable {
        precondition(shape.count >= 3, "instanceNorm expects N x C x spatial..., got \(shape)")
        let c = shape[1]
        var y = normalize(outer: shape[0] * c, n: Array(shape[2...]).product, inner: 1, eps: eps)
        let bshape = [c] + [Int](repeating: 1, count: shape.count - 2)
        if let w = weight { y = y * w.reshaped(bshape) }
        if let b = bias { y = y + b.reshaped(bshape) }
        return y
    }

    /// `F.conv2d(x, weight, bias, stride, padding, groups=groups)`.
    public static func conv2d(_ x: Variable, weight: Variable, bias: Variable?, stride: (Int, Int) = (1, 1),
                              padding: (Int, Int) = (0, 0), groups: Int = 1) -> Variable {
        let y = Tensor.conv2d(x.value, weight: weight.value, bias: bias?.value, stride: stride, padding: padding, groups: groups)
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        return Variable(y, inputs: inputs) { g in
            let r = Tensor.conv2dBackward(x.value, weight: weight.value, grad: g, stride: stride, padding: padding,
                                          groups: groups, needInput: x.requiresGrad, needWeight: weight.requiresGrad)
            let db = (bias?.requiresGrad ?? false) ? g.sum(axes: [0, 2, 3]) : nil
            return [r.input, r.weight, db]
        }
    }

    /// `F.conv_transpose2d` with kernel == stride (SAM's upscaling).
    public static func convTranspose2d(_ x: Variable, weight: Variable, bias: Variable?) -> Variable {
        let y = Tensor.convTranspose2d(x.value, weight: weight.value, bias: bias?.value)
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        return Variable(y, inputs: inputs) { g in
            let r = Tensor.convTranspose2dBackward(x.value, weight: weight.value, grad: g)
            let db = (bias?.requiresGrad ?? false) ? g.sum(axes: [0, 2, 3]) : nil
            return [r.input, r.weight, db]
        }
    }
}

extension Variable {
    /// `F.normalize(x, p=2, dim=-1, eps)`: each row of the last axis divided by max(‖row‖, eps).
    public func l2Normalized(eps: Float = 1e-12) -> Variable {
        let n = shape.last ?? 1, rows = value.count / Swift.max(n, 1)
        var norms = [Float](repeating: 0, count: rows)
        var clamped = [Bool](repeating: false, count: rows)
        var y = value
        for r in 0..<rows {
            var s: Float = 0
            for j in 0..<n { let v = value.data[r * n + j]; s += v * v }
            let norm = s.squareRoot()
            clamped[r] = norm < eps
            norms[r] = Swift.max(norm, eps)
            for j in 0..<n { y.data[r * n + j] /= norms[r] }
        }
        return Variable(y, inputs: [self]) { g in
            // d(x/n) = (g - y (g·y)) / n where the norm is not clamped; g / eps where it is.
            var d = g
            for r in 0..<rows {
                var dot: Float = 0
                if !clamped[r] { for j in 0..<n { dot += g.data[r * n + j] * y.data[r * n + j] } }
                for j in 0..<n { d.data[r * n + j] = (g.data[r * n + j] - dot * y.data[r * n + j]) / norms[r] }
            }
            return [d]
        }
    }

    /// `F.adaptive_avg_pool2d` to (height, width) for sizes that divide the input's exactly (block means).
    public func averagePooled(height: Int, width: Int) -> Variable {
        precondition(shape.count == 4 && height > 0 && width > 0 && shape[2] % height == 0 && shape[3] % width == 0,
                     "averagePooled expects N x C x H x W with H, W multiples of \(height) x \(width), got \(shape)")
        let (fh, fw) = (shape[2] / height, shape[3] / width)
        if fh == 1 && fw == 1 { return self }
        return reshaped([shape[0], shape[1], height, fh, width, fw]).mean(axes: [3, 5])
    }
}
