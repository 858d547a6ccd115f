/// A plain line chart as a PNG-ready RGB image: one polyline per series over a shared x (1...count) and y
/// range, light grid lines, the y range's ends and the last x, a legend of the labelled series and the x axis's
/// name, in `PixelFont`. Enough to look at a loss curve; no layout engine.
public enum LineChart {
    public struct Series {
        public let values: [Double]
        public let colour: RGB
        /// The series' name in the legend (none when nil).
        public let label: String?
        public init(_ values: [Double], colour: RGB, label: String? = nil) {
            (self.values, self.colour, self.label) = (values, colour, label)
        }
    }

    /// `xLabel`: the x axis's name, written under it (e.g. "epoch").
    public static func render(_ series: [Series], xLabel: String? = nil, width: Int = 640, height: Int = 360) -> Image8 {
        var image = Image8(width: width, height: height, channels: 3, fill: 255)
        let finite = series.flatMap(\.values).filter(\.isFinite)
        let count = series.map(\.values.count).max() ?? 0
        guard let lo0 = finite.min(), let hi0 = finite.max(), count > 0 else { return image }
        let pad = Swift.max((hi0 - lo0) * 0.05, 1e-9)
        let (lo, hi) = (lo0 - pad, hi0 + pad)
        let (left, right, top, bottom) = (56, width - 12, 12, height - 24)
        let grid = RGB(225, 225, 225), axis = RGB(90, 90, 90)
        for k in 0...4 {
            let y = top + (bottom - top) * k / 4
            for x in left...right { image.setPixel(x: x, y: y, k == 4 ? axis : grid) }
        }
        for y in top...bottom { image.setPixel(x: left, y: y, axis) }
        func px(_ i: Int) -> Int { count == 1 ? left : left + (right - left) * i / (count - 1) }
        func py(_ v: Double) -> Int { bottom - Int(((v - lo) / (hi - lo) * Double(bottom - top)).rounded()) }
        for s in series {
            var last: (Int, Int)? = nil
            for (i, v) in s.values.enumerated() where v.isFinite {
                let p = (px(i), py(v))
                if let a = last { line(&image, a, p, s.colour) }
                for dy in -2...2 { for dx in -2...2 { image.setPixel(x: p.0 + dx, y: p.1 + dy, s.colour) } }
                last = p
            }
        }
        text(&image, format(hi0), x: 2, y: py(hi0) - 3, axis)
        text(&image, format(lo0), x: 2, y: py(lo0) - 3, axis)
        text(&image, "1", x: left - 2, y: bottom + 8, axis)
        text(&image, String(count), x: right - PixelFont.width(of: String(count)) / 2, y: bottom + 8, axis)
        if let xLabel { text(&image, xLabel.uppercased(), x: (left + right - PixelFont.width(of: xLabel)) / 2, y: bottom + 8, axis) }
        // The legend, top right: a swatch and the label per labelled series.
        let labelled = series.filter { $0.label != nil }
        let legendWidth = (labelled.map { PixelFont.width(of: $0.label!) }.max() ?? 0) + 22
        for (k, s) in labelled.enumerated() {
            let y = top + 6 + 14 * k, x = right - legendWidth
            for dx in 0..<14 { for dy in -1...1 { image.setPixel(x: x + dx, y: y + 4 + dy, s.colour) } }
            text(&image, s.label!.uppercased(), x: x + 20, y: y, axis)
        }
        return image
    }

    private static func line(_ image: inout Image8, _ a: (Int, Int), _ b: (Int, Int), _ c: RGB) {
        let n = Swift.max(abs(b.0 - a.0), abs(b.1 - a.1), 1)
        for t in 0...n {
            let x = a.0 + (b.0 - a.0) * t / n, y = a.1 + (b.1 - a.1) * t / n
            image.setPixel(x: x, y: y, c)
            image.setPixel(x: x, y: y + 1, c)
        }
    }

    private static func format(_ v: Double) -> String {
        let s = String(Double((v * 10000).rounded()) / 10000)
        return s.count > 8 ? String(s.prefix(8)) : s
    }

    private static func text(_ image: inout Image8, _ s: String, x: Int, y: Int, _ c: RGB) {
        PixelFont.draw(s, on: &image, x: x, y: y, colour: c)
    }
}
