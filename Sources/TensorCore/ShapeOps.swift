/// Layout operations: permute, concat, split, narrow, zero padding, SAM's window partition.
extension Tensor {
    /// `x.permute(order).contiguous()`.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "permute: \(order) is not a permutation of the axes of \(shape)")
        if order == Array(0..<rank) { return self }
        let newShape = order.map { shape[$0] }
        let src = strides
        let srcStrides = order.map { src[$0] }
        // Every element is written below: no zero fill.
        var out = Tensor(uninitializedShape: newShape)
        if count == 0 { return out }
        let inner = newShape.last ?? 1, innerStride = srcStrides.last ?? 1
        data.withUnsafeBufferPointer { px in
            out.data.withUnsafeMutableBufferPointer { po in
                let X = px.baseAddress!, O = po.baseAddress!
                if innerStride == 1 {
                    // The last axis stays last: copy contiguous runs.
                    let outer = Array(newShape.dropLast()), outerStrides = Array(srcStrides.dropLast())
                    Parallel.forRanges(outer.product, costPerItem: inner) { r in
                        for row in r {
                            let from = X + Self.offset(of: row, shape: outer, strides: outerStrides), to = O + row * inner
                            // Short runs (attention heads): a loop; long ones: memcpy.
                            if inner < 64 { for j in 0..<inner { to[j] = from[j] } } else { to.update(from: from, count: inner) }
                        }
                    }
                } else {
                    Self.tiledTranspose(X, O, order: order, newShape: newShape, srcStrides: srcStrides)
                }
            }
        }
        return out
    }

    /// The source offset of flat index `index` of `shape` read through `strides`.
    @inline(__always)
    static func offset(of index: Int, shape: [Int], strides: [Int]) -> Int {
        var rem = index, off = 0
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            let i = rem % shape[d]; rem /= shape[d]; off += i * strides[d]
        }
        return off
    }

    /// A permutation that moves the source's contiguous axis away from last: a batch of 2-D transposes between
    /// output axis q (the source's last axis, unit stride in the source) and the output's last axis, done in
    /// 16 x 16 tiles so that both reads and writes stay within a few cache lines.
    static func tiledTranspose(_ X: UnsafePointer<Float>, _ O: UnsafeMutablePointer<Float>, order: [Int], newShape: [Int], srcStrides: [Int]) {
        let rank = newShape.count
        let q = order.firstIndex(of: rank - 1)!
        let outStrides = Shape.strides(newShape)
        let others = (0..<(rank - 1)).filter { $0 != q }
        let batchShape = others.map { newShape[$0] }
        let batchSrc = others.map { srcStrides[$0] }, batchDst = others.map { outStrides[$0] }
        let rows = newShape[q], cols = newShape[rank - 1]
        let rowStride = outStrides[q], colStride = srcStrides[rank - 1]
        let tile = 16, rowTiles = (rows + tile - 1) / tile
        let batch = batchShape.product
        Parallel.forRanges(batch * rowTiles, costPerItem: tile * cols) { r in
            for item in r {
                let b = item / rowTiles, i0 = (item % rowTiles) * tile, i1 = Swift.min(rows, i0 + tile)
                let s = X + offset(of: b, shape: batchShape, strides: batchSrc)
                let d = O + offset(of: b, shape: batchShape, strides: batchDst)
                var j0 = 0
                while j0 < cols {
                    let j1 = Swift.min(cols, j0 + tile)
                    for i in i0..<i1 {
                        let si = s + i, di = d + i * rowStride
                        for j in j0..<j1 { di[j] = si[j * colStride] }
                    }
                    j0 = j1
                }
            }
        }
    }

    /// Swaps the last two axes.
    public func transposedLast2() -> Tensor {
        var order = Array(0..<rank); order.swapAt(rank - 1, rank - 2)
        return permuted(order)
    }

    /// `torch.cat(tensors, dim=axis)`.
    public static func concat(_ parts: [Tensor], axis: Int) -> Tensor {
        precondition(!parts.isEmpty, "concat: no tensors")
        let a = parts[0].axis(axis)
        for p in parts {
            precondition(p.rank == parts[0].rank && p.shape.enumerated().allSatisfy { $0.offset == a || $0.element == parts[0].shape[$0.offset] },
                         "concat along \(axis): shapes \(parts.map(\.shape)) differ outside that axis")
        }
        var shape = parts[0].shape
        shape[a] = parts.map { $0.shape[a] }.reduce(0, +)
        let outer = Array(shape[..<a]).product, inner = Array(shape[(a + 1)...]).product
        var out = [Float](); out.reserveCapacity(shape.product)
        for o in 0..<outer {
            for p in parts {
                let len = p.shape[a] * inner
                out.append(contentsOf: p.data[(o * len)..<((o + 1) * len)])
            }
        }
        return Tensor(shape: shape, data: out)
    }

    /// `x.narrow(axis, start, length).contiguous()`.
    public func narrow(axis: Int, start: Int, length: Int) -> Tensor {
        let a = self.axis(axis)
        precondition(start >= 0 && length >= 0 && start + length <= shape[a],
                     "narrow: [\(start), \(start + length)) out of range for axis \(axis) of \(shape)")
        var s = shape; s[a] = length
        let outer = Array(shape[..<a]).product, inner = Array(shape[(a + 1)...]).product
        var out = [Float](); out.reserveCapacity(s.product)
        for o in 0..<outer {
            let base = (o * shape[a] + start) * inner
            out.append(contentsOf: data[base..<(base + length * inner)])
        }
        return Tensor(shape: s, data: out)
    }

    /// `torch.split(x, sizes, dim=axis)`.
    public func split(sizes: [Int], axis: Int) -> [Tensor] {
        let a = self.axis(axis)
        precondition(sizes.reduce(0, +) == shape[a], "split: sizes \(sizes) do not add up to axis \(axis) of \(shape)")
        var start = 0
        return sizes.map { n in defer { start += n }; return narrow(axis: a, start: start, length: n) }
    }

    /// Zero padding of every axis by (before, after) amounts (`F.pad` with constant 0).
    /// Negative amounts crop, so `padded(p)` is undone by `padded(p.map { (-$0.0, -$0.1) })`.
    public func padded(_ amounts: [(Int, Int)]) -> Tensor {
        precondition(amounts.count == rank, "pad: \(amounts.count) (before, after) pairs for shape \(shape)")
        let newShape = zip(shape, amounts).map { $0 + $1.0 + $1.1 }
        precondition(newShape.allSatisfy { $0 >= 0 }, "pad: \(amounts) crops shape \(shape) below zero")
        var out = Tensor.zeros(newShape)
        if count == 0 || out.count == 0 { return out }
        let inner = shape[rank - 1], (lb, _) = amounts[rank - 1]
        let outerIn = Array(shape.dropLast())
        let outStrides = out.strides
        // Copy each innermost row of the input that lands inside the output.
        let j0 = Swift.max(0, -lb), j1 = Swift.min(inner, newShape[rank - 1] - lb)
        data.withUnsafeBufferPointer { px in
            out.data.withUnsafeMutableBufferPointer { po in
                rows: for row in 0..<outerIn.product {
                    var rem = row, off = 0
                    for d in stride(from: outerIn.count - 1, through: 0, by: -1) {
                        let idx = rem % outerIn[d] + amounts[d].0; rem /= outerIn[d]
                        if idx < 0 || idx >= newShape[d] { continue rows }
                        off += idx * outStrides[d]
                    }
                    if j0 < j1 {
                        for j in j0..<j1 { po[off + j + lb] = px[row * inner + j] }
                    }
                }
            }
        }
        return out
    }

    /// SAM's `window_partition`: (B, H, W, C) zero-padded to multiples of `window`, split into
    /// (B * nH * nW, window, window, C). Returns the padded (Hp, Wp). (The same composition as the
    /// differentiable op, run without a graph.)
    public func windowPartition(_ window: Int) -> (windows: Tensor, paddedHW: (Int, Int)) {
        let r = Variable.noGrad { Variable(self).windowPartition(window) }
        return (r.windows.value, r.paddedHW)
    }

    /// SAM's `window_unpartition`: inverse of `windowPartition`, cropped back to (H, W).
    public static func windowUnpartition(_ windows: Tensor, window: Int, paddedHW: (Int, Int), hw: (Int, Int)) -> Tensor {
        Variable.noGrad { Variable.windowUnpartition(Variable(windows), window: window, paddedHW: paddedHW, hw: hw).value }
    }
}
