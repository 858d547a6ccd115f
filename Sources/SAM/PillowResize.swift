import Foundation

/// Pillow's `Image.resize(size, BILINEAR)` on 8-bit images, bit for bit: a triangle filter widened by the
/// scale when shrinking (antialiasing), fixed-point coefficients with 22 fractional bits, horizontal pass
/// then vertical pass with 8-bit rounding in between. SAM's reference preprocessing resizes through
/// torchvision on a PIL image, which is this.
enum PillowResize {
    static let precisionBits = 32 - 8 - 2

    /// Per output index: first input index and fixed-point weights.
    static func coefficients(inSize: Int, outSize: Int) -> [(start: Int, weights: [Int32])] {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = 1.0 * filterScale
        return (0..<outSize).map { xx in
            let center = (Double(xx) + 0.5) * scale
            let ss = 1 / filterScale
            let xmin = max(Int(center - support + 0.5), 0)
            let count = min(Int(center + support + 0.5), inSize) - xmin
            var w = (0..<count).map { x -> Double in
                let t = abs((Double(x + xmin) - center + 0.5) * ss)
                return t < 1 ? 1 - t : 0
            }
            let total = w.reduce(0, +)
            if total != 0 { w = w.map { $0 / total } }
            let fixed = w.map { v -> Int32 in
                let s = v * Double(1 << precisionBits)
                return Int32(v < 0 ? (-0.5 + s) : (0.5 + s))
            }
            return (xmin, fixed)
        }
    }

    @inline(__always) static func clip8(_ v: Int64) -> UInt8 {
        let s = v >> Int64(precisionBits)
        return UInt8(clamping: max(0, min(255, s)))
    }

    /// Resizes interleaved 8-bit pixels (height x width x channels) to (newHeight x newWidth).
    static func resize(_ pixels: [UInt8], width: Int, height: Int, channels: Int, newWidth: Int, newHeight: Int) -> [UInt8] {
        var current = pixels, w = width
        if newWidth != width {
            let coeffs = coefficients(inSize: width, outSize: newWidth)
            var out = [UInt8](repeating: 0, count: height * newWidth * channels)
            for y in 0..<height { for (xx, c) in coeffs.enumerated() { for ch in 0..<channels {
                var ss: Int64 = 1 << Int64(precisionBits - 1)
                for (k, wt) in c.weights.enumerated() { ss += Int64(current[(y * w + c.start + k) * channels + ch]) * Int64(wt) }
                out[(y * newWidth + xx) * channels + ch] = clip8(ss)
            } } }
            current = out; w = newWidth
        }
        if newHeight != height {
            let coeffs = coefficients(inSize: height, outSize: newHeight)
            var out = [UInt8](repeating: 0, count: newHeight * w * channels)
            for (yy, c) in coeffs.enumerated() { for x in 0..<w { for ch in 0..<channels {
                var ss: Int64 = 1 << Int64(precisionBits - 1)
                for (k, wt) in c.weights.enumerated() { ss += Int64(current[((c.start + k) * w + x) * channels + ch]) * Int64(wt) }
                out[(yy * w + x) * channels + ch] = clip8(ss)
            } } }
            current = out
        }
        return current
    }
}
