/// `golden/prompts.json`: the prompts run on the golden image, where the expected outputs are, and the
/// tolerance a verifier allows.
public struct GoldenPrompts: Codable, Equatable, Sendable {
    /// A point in the golden image's pixels; label 1 foreground, 0 background.
    public struct Point: Codable, Equatable, Sendable {
        public var x: Double, y: Double
        public var label: Int
        public init(x: Double, y: Double, label: Int) { (self.x, self.y, self.label) = (x, y, label) }
    }
    /// An output passes when max |actual - expected| <= absolute + relative * max |expected|.
    public struct Tolerance: Codable, Equatable, Sendable {
        public var relative: Double
        public var absolute: Double
        public init(relative: Double, absolute: Double) { (self.relative, self.absolute) = (relative, absolute) }
        /// Loose enough for another BLAS, thread count or CPU (float32 sums reordered), tight enough that
        /// any change of a weight that matters shows.
        public static let standard = Tolerance(relative: 1e-3, absolute: 1e-4)
    }

    /// The image, relative to the package.
    public var image = PackageLayout.goldenImage
    public var points: [Point]
    /// An optional box x0, y0, x1, y1 in image pixels.
    public var box: [Double]?
    public var multimask: Bool
    /// The safetensors file with `low_res_logits` (1, K, h, w) and `iou` (1, K), relative to the package.
    public var outputs = PackageLayout.goldenOutputs
    public var tolerance: Tolerance

    public init(points: [Point], box: [Double]? = nil, multimask: Bool, tolerance: Tolerance = .standard) {
        (self.points, self.box, self.multimask, self.tolerance) = (points, box, multimask, tolerance)
    }

    /// Output tensor names in `outputs`.
    public static let logitsName = "low_res_logits"
    public static let iouName = "iou"

    /// Problems with the values (empty when usable).
    public func problems(imageWidth: Int, imageHeight: Int) -> [String] {
        var p: [String] = []
        if points.isEmpty && box == nil { p.append("no points and no box") }
        for (i, pt) in points.enumerated() {
            if !(0..<Double(imageWidth)).contains(pt.x) || !(0..<Double(imageHeight)).contains(pt.y) {
                p.append("points[\(i)] (\(pt.x), \(pt.y)) is outside the \(imageWidth) x \(imageHeight) image")
            }
            if pt.label != 0 && pt.label != 1 { p.append("points[\(i)].label is \(pt.label), expected 0 or 1") }
        }
        if let b = box, b.count != 4 || !b.allSatisfy(\.isFinite) { p.append("box has \(b.count) values, expected 4 finite numbers") }
        else if let b = box, !(0..<Double(imageWidth)).contains(b[0]) || !(0..<Double(imageWidth)).contains(b[2])
                    || !(0..<Double(imageHeight)).contains(b[1]) || !(0..<Double(imageHeight)).contains(b[3]) {
            p.append("box \(b) has a corner outside the \(imageWidth) x \(imageHeight) image")
        }
        if !(tolerance.relative >= 0 && tolerance.absolute >= 0) || !tolerance.relative.isFinite || !tolerance.absolute.isFinite {
            p.append("tolerance must be finite and non-negative")
        }
        if tolerance.relative > 0.1 || tolerance.absolute > 0.1 {
            p.append("tolerance (relative \(tolerance.relative), absolute \(tolerance.absolute)) is too loose to check anything (at most 0.1)")
        }
        if image != PackageLayout.goldenImage || outputs != PackageLayout.goldenOutputs {
            p.append("image and outputs must be \(PackageLayout.goldenImage) and \(PackageLayout.goldenOutputs)")
        }
        return p
    }
}
