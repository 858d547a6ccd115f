/// Differentiable layout and resampling ops.
extension Variable {
    /// `torch.reshape`.
    public func reshaped(_ newShape: [Int]) -> Variable {
        let old = shape
        return Variable(value.reshaped(newShape), inputs: [self]) { g in [g.reshaped(old)] }
    }
    /// `x.permute(order)`.
    public func permuted(_ order: [Int]) -> Variable {
        var inverse = [Int](repeating: 0, count: order.count)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return Variable(value.permuted(order), inputs: [self]) { g in [g.permuted(inverse)] }
    }
    /// `torch.cat(parts, dim=axis)`.
    public static func concat(_ parts: [Variable], axis: Int) -> Variable {
        let sizes = parts.map { $0.shape[$0.value.axis(axis)] }
        return Variable(Tensor.concat(parts.map(\.value), axis: axis), inputs: parts) { g in
            g.split(sizes: sizes, axis: axis).map { Optional($0) }
        }
    }
    /// `x.narrow(axis, start, length)`.
    public func narrow(axis: Int, start: Int, length: Int) -> Variable {
        let a = value.axis(axis), n = shape[a]
        var amounts = shape.map { _ in (0, 0) }
        amounts[a] = (start, n - start - length)
        return Variable(value.narrow(axis: axis, start: start, length: length), inputs: [self]) { g in [g.padded(amounts)] }
    }
    /// `torch.split(x, sizes, dim=axis)`.
    public func split(sizes: [Int], axis: Int) -> [Variable] {
        var start = 0
        return sizes.map { n in defer { start += n }; return narrow(axis: axis, start: start, length: n) }
    }
    /// Zero padding by (before, after) per axis; negative amounts crop.
    public func padded(_ amounts: [(Int, Int)]) -> Variable {
        let back = amounts.map { (-$0.0, -$0.1) }
        return Variable(value.padded(amounts), inputs: [self]) { g in [g.padded(back)] }
    }
    /// SAM's `window_partition` (composed from differentiable ops).
    public func windowPartition(_ window: Int) -> (windows: Variable, paddedHW: (Int, Int)) {
        precondition(shape.count == 4 && window > 0, "windowPartition expects B x H x W x C and a positive window, got \(shape), \(window)")
        let (b, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        let ph = (window - h % window) % window, pw = (window - w % window) % window
        let x = (ph > 0 || pw > 0) ? padded([(0, 0), (0, ph), (0, pw), (0, 0)]) : self
        let hp = h + ph, wp = w + pw
        let windows = x.reshaped([b, hp / window, window, wp / window, window, c])
            .permuted([0, 1, 3, 2, 4, 5]).reshaped([-1, window, window, c])
        return (windows, (hp, wp))
    }
    /// SAM's `window_unpartition`.
    public static func windowUnpartition(_ windows: Variable, window: Int, paddedHW: (Int, Int), hw: (Int, Int)) -> Variable {
        let (hp, wp) = paddedHW
        let c = windows.shape[3]
        let b = windows.shape[0] / ((hp / window) * (wp / window))
        let x = windows.reshaped([b, hp / window, wp / window, window, window, c])
            .permuted([0, 1, 3, 2, 4, 5]).reshaped([b, hp, wp, c])
        if hp == hw.0 && wp == hw.1 { return x }
        return x.padded([(0, 0), (0, hw.0 - hp), (0, hw.1 - wp), (0, 0)])
    }
    /// Bilinear resize (`F.interpolate(mode="bilinear")`).
    public func resizeBilinear(height: Int, width: Int, alignCorners: Bool = false) -> Variable {
        let inShape = shape
        return Variable(value.resizeBilinear(height: height, width: width, alignCorners: alignCorners), inputs: [self]) { g in
            [Tensor.resizeBilinearBackward(g, inputShape: inShape, alignCorners: alignCorners)]
        }
    }
    /// 1-D linear interpolation of a (L, C) table along L.
    public func interpolateRows(to newLength: Int) -> Variable {
        let length = shape[0]
        return Variable(value.interpolateRows(to: newLength), inputs: [self]) { g in
            [Tensor.interpolateRowsBackward(g, length: length)]
        }
    }
    /// `F.grid_sample(x, grid, align_corners=False)`, bilinear, zero padding.
    public func gridSample(_ grid: Variable) -> Variable {
        let x = value
        return Variable(x.gridSample(grid.value), inputs: [self, grid]) { g in
            let r = Tensor.gridSampleBackward(x, grid: grid.value, grad: g)
            return [r.input, r.grid]
        }
    }
    /// torchvision-style Gaussian blur with reflect padding.
    public func gaussianBlur(kernelSize: Int, sigma: Float) -> Variable {
        Variable(value.gaussianBlur(kernelSize: kernelSize, sigma: sigma), inputs: [self]) { g in
            [Tensor.gaussianBlurBackward(g, kernelSize: kernelSize, sigma: sigma)]
        }
    }
}
