import TensorCore

/// Picks the self-sampler's prompt points from the SUPPORT mask only (the query's label never reaches the
/// predictor): positives inside the mask, negatives outside it, drawn first from a band around its boundary
/// (where errors happen), without replacement where possible, deterministically from a seed.
public struct PointPicker: Sendable {
    public var positives: Int, negatives: Int
    /// Width of the boundary band for negatives, in input pixels (32 = two feature cells at 1024).
    public var bandWidth: Int

    public init(positives: Int = 8, negatives: Int = 8, bandWidth: Int = 32) {
        (self.positives, self.negatives, self.bandWidth) = (positives, negatives, bandWidth)
    }

    /// Points at pixel centres of `mask` (1, 1, S, S; > 0.5 is inside), restricted to the image's area
    /// `valid` = (height, width) at the top left of the frame (the rest is padding). Empty mask: negatives only.
    public func pick(mask: Tensor, valid: (height: Int, width: Int), seed: UInt64) -> [SamplerPoint] {
        precondition(mask.shape.count == 4 && mask.shape[0] == 1 && mask.shape[1] == 1, "point picker expects a 1 x 1 x S x S mask, got \(mask.shape)")
        let (h, w) = (mask.shape[2], mask.shape[3])
        let vh = Swift.min(valid.height, h), vw = Swift.min(valid.width, w)
        var inside: [Int] = [], band: [Int] = [], far: [Int] = []
        let near = dilated(mask, h: h, w: w)
        for r in 0..<vh { for c in 0..<vw {
            let i = r * w + c
            if mask.data[i] > 0.5 { inside.append(i) } else if near[i] { band.append(i) } else { far.append(i) }
        } }
        var rng = SeededGenerator(seed: seed)
        var chosen: [SamplerPoint] = []
        func take(_ pool: inout [Int], _ n: Int, positive: Bool) -> Int {
            var taken = 0
            while taken < n && !pool.isEmpty {
                pool.swapAt(Int(rng.next() % UInt64(pool.count)), pool.count - 1)
                let i = pool.removeLast()
                chosen.append(SamplerPoint(x: Float(i % w) + 0.5, y: Float(i / w) + 0.5, positive: positive))
                taken += 1
            }
            return taken
        }
        var pos = inside
        let gotPositive = take(&pos, positives, positive: true)
        // Too few distinct positive pixels: repeat some (a tiny mask still gives its points).
        for k in 0..<(inside.isEmpty ? 0 : positives - gotPositive) {
            let i = inside[k % inside.count]
            chosen.append(SamplerPoint(x: Float(i % w) + 0.5, y: Float(i / w) + 0.5, positive: true))
        }
        let fromBand = take(&band, negatives, positive: false)
        _ = take(&far, negatives - fromBand, positive: false)
        return chosen
    }

    /// Pixels within `bandWidth` (Chebyshev distance) of the mask, by separable running maxima.
    private func dilated(_ mask: Tensor, h: Int, w: Int) -> [Bool] {
        let r = bandWidth
        var rows = [Bool](repeating: false, count: h * w)
        for y in 0..<h {
            var last = Int.min / 2  // column of the latest inside pixel seen from the left
            for x in 0..<w { if mask.data[y * w + x] > 0.5 { last = x }; if x - last <= r { rows[y * w + x] = true } }
            last = Int.max / 2
            for x in stride(from: w - 1, through: 0, by: -1) { if mask.data[y * w + x] > 0.5 { last = x }; if last - x <= r { rows[y * w + x] = true } }
        }
        var out = [Bool](repeating: false, count: h * w)
        for x in 0..<w {
            var last = Int.min / 2
            for y in 0..<h { if rows[y * w + x] { last = y }; if y - last <= r { out[y * w + x] = true } }
            last = Int.max / 2
            for y in stride(from: h - 1, through: 0, by: -1) { if rows[y * w + x] { last = y }; if last - y <= r { out[y * w + x] = true } }
        }
        return out
    }
}
