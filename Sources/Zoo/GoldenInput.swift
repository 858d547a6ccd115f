import Imaging

/// The built-in golden input: a small synthetic CT-like axial slice (body outline, a brighter organ,
/// a spine, vessels and deterministic noise) and a foreground point on the organ. It is generated, not
/// read from disk, so every toolkit build makes the same bytes; the package stores it as a PNG anyway,
/// so a verifier depends only on the package.
public enum GoldenInput {
    public static let width = 96
    public static let height = 96

    /// The prompt: one foreground point in the organ, in image pixels.
    public static var prompts: GoldenPrompts {
        GoldenPrompts(points: [.init(x: 34, y: 40, label: 1)], multimask: true)
    }

    /// The slice, 8-bit grey.
    public static func image() -> Image8 {
        var pixels = [UInt8](repeating: 0, count: width * height)
        var state: UInt32 = 0x9E37_79B9  // xorshift32: fixed noise, identical on every machine
        func noise() -> Int {
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            return Int(state % 15) - 7
        }
        func inside(_ x: Double, _ y: Double, _ cx: Double, _ cy: Double, _ rx: Double, _ ry: Double) -> Bool {
            let dx = (x - cx) / rx, dy = (y - cy) / ry
            return dx * dx + dy * dy <= 1
        }
        for y in 0..<height {
            for x in 0..<width {
                let (fx, fy) = (Double(x) + 0.5, Double(y) + 0.5)
                var v = 8
                if inside(fx, fy, 48, 50, 42, 34) { v = 70 }              // body (fat / soft tissue)
                if inside(fx, fy, 48, 50, 38, 30) { v = 100 }             // muscle wall inside the fat rim
                if inside(fx, fy, 34, 42, 16, 13) { v = 150 }             // the organ (a liver-like blob)
                if inside(fx, fy, 60, 44, 5, 5) || inside(fx, fy, 52, 58, 4, 4) { v = 190 }  // vessels
                if inside(fx, fy, 48, 72, 7, 6) { v = 235 }               // vertebra
                if inside(fx, fy, 64, 60, 7, 5) { v = 125 }               // a kidney-like blob
                pixels[y * width + x] = UInt8(clamping: v + (v > 8 ? noise() : 0))
            }
        }
        return try! Image8(width: width, height: height, channels: 1, pixels: pixels)
    }
}
