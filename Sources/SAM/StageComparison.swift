import TensorCore

/// One stage of a parity check: the toolkit's output against the reference's.
///
/// `maxRel` is the largest absolute difference relative to the reference's magnitude (max |ref|), the rule
/// of the project's own parity tests; a stage passes when it is at most the tolerance and, for masks, when
/// the IoU of the two masks (logit > 0) is at least `minIoU` (when one is asked for).
public struct StageComparison: Codable, Equatable, Sendable {
    public let stage: String
    public let shape: [Int]
    /// max |toolkit - reference|; nil when the shapes differ or a value is not finite.
    public let maxAbs: Float?
    /// maxAbs / max |reference|.
    public let maxRel: Float?
    /// IoU of the masks (logit > 0) for stages that hold mask logits; 1 when both are empty.
    public let maskIoU: Float?
    public let passed: Bool
    /// Why the stage failed when the numbers do not say it (another shape, NaN or infinity).
    public let detail: String?

    /// Compares `actual` with `reference`: a shape mismatch or a non-finite toolkit value fails the stage.
    public static func compare(stage: String, actual: Tensor, reference: Tensor, mask: Bool, tolerance: Float,
                               minIoU: Float? = nil) -> StageComparison {
        guard actual.shape == reference.shape else {
            return StageComparison(stage: stage, shape: reference.shape, maxAbs: nil, maxRel: nil, maskIoU: nil, passed: false,
                                   detail: "the toolkit's shape is \(actual.shape), the reference's \(reference.shape)")
        }
        guard actual.data.allSatisfy(\.isFinite) else {
            return StageComparison(stage: stage, shape: reference.shape, maxAbs: nil, maxRel: nil, maskIoU: nil, passed: false,
                                   detail: "the toolkit's output has NaN or infinite values")
        }
        var err: Float = 0, scale: Float = 0
        var both = 0, either = 0
        for (a, r) in zip(actual.data, reference.data) {
            err = Swift.max(err, abs(a - r))
            scale = Swift.max(scale, abs(r))
            if mask {
                let (ia, ir) = (a > 0, r > 0)
                if ia && ir { both += 1 }
                if ia || ir { either += 1 }
            }
        }
        // A reference of zeros is matched only exactly: any difference is infinitely large relative to it.
        let rel = scale > 0 ? err / scale : (err == 0 ? 0 : Float.greatestFiniteMagnitude)
        let iou: Float? = mask ? (either == 0 ? 1 : Float(both) / Float(either)) : nil
        let passed = rel <= tolerance && (minIoU.map { iou == nil || iou! >= $0 } ?? true)
        return StageComparison(stage: stage, shape: reference.shape, maxAbs: err, maxRel: rel, maskIoU: iou, passed: passed, detail: nil)
    }
}
