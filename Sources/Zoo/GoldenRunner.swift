import Foundation
import Imaging
import SAM
import TensorCore

/// Runs a model on golden inputs and compares outputs with a tolerance.
public enum GoldenRunner {
    /// Low-res logits (1, K, h, w) and IoU (1, K) for the prompts on `image`, through `SAMPredictor`
    /// (SAM's own preprocessing, coordinate transform and decoder).
    public static func run(model: SAMModel, image: Image8, prompts: GoldenPrompts) throws -> (lowResLogits: Tensor, iou: Tensor) {
        let rgb = image.rgb()
        var predictor = SAMPredictor(model: model)
        try predictor.setImage(rgb: rgb.pixels, width: rgb.width, height: rgb.height, name: prompts.image)
        let points = prompts.points.map { PromptPoint(x: Float($0.x), y: Float($0.y), label: $0.label) }
        let box = prompts.box.flatMap { b in b.count == 4 ? PromptBox(x0: Float(b[0]), y0: Float(b[1]), x1: Float(b[2]), y1: Float(b[3])) : nil }
        let r = try predictor.predict(points: points, box: box, multimask: prompts.multimask)
        return (r.lowResLogits, r.iou)
    }

    /// How `actual` differs from `expected` beyond the tolerance, or nil when it is within it.
    public static func mismatch(_ name: String, actual: Tensor, expected: Tensor, tolerance: GoldenPrompts.Tolerance) -> String? {
        guard actual.shape == expected.shape else { return "\(name): shape \(actual.shape), expected \(expected.shape)" }
        // A non-finite golden value would make the bound infinite and let anything pass.
        if let bad = expected.data.firstIndex(where: { !$0.isFinite }) {
            return "\(name): the golden output holds \(expected.data[bad]) at \(multiIndex(bad, shape: expected.shape)); golden outputs must be finite"
        }
        let stats = comparison(actual: actual, expected: expected, tolerance: tolerance)
        if stats.error <= stats.bound { return nil }
        let i = stats.index
        return "\(name) differs: max |actual - expected| = \(fmt(stats.error)) at \(multiIndex(i, shape: expected.shape)) "
            + "(expected \(fmt(Double(expected.data[i]))), actual \(fmt(Double(actual.data[i])))), allowed \(fmt(stats.bound)) "
            + "(absolute \(tolerance.absolute) + relative \(tolerance.relative) x max |expected| \(fmt(Double(expected.maxAbs))))"
    }

    /// Largest absolute error, where it is, and the allowed bound. A NaN counts as an infinite error.
    public static func comparison(actual: Tensor, expected: Tensor, tolerance: GoldenPrompts.Tolerance) -> (error: Double, index: Int, bound: Double) {
        var worst = 0.0, at = 0
        for i in 0..<min(actual.data.count, expected.data.count) {
            var e = abs(Double(actual.data[i]) - Double(expected.data[i]))
            if !e.isFinite { e = .infinity }
            if e > worst { (worst, at) = (e, i) }
        }
        return (worst, at, tolerance.absolute + tolerance.relative * Double(expected.maxAbs))
    }

    static func multiIndex(_ flat: Int, shape: [Int]) -> String {
        var rest = flat, idx: [Int] = []
        for d in shape.reversed() { idx.append(d > 0 ? rest % d : 0); rest /= max(d, 1) }
        return "[" + idx.reversed().map(String.init).joined(separator: ", ") + "]"
    }

    static func fmt(_ x: Double) -> String { String(format: "%.6g", x) }
}
