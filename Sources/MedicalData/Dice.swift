import Diagnostics

/// The Dice coefficient `2|P ∩ G| / (|P| + |G|)` of binary masks (non-zero = inside).
public enum Dice {
    /// Dice of two masks of equal size. Both empty: 1 (perfect agreement on absence).
    public static func of(prediction: [UInt8], truth: [UInt8]) throws -> Double {
        guard prediction.count == truth.count else {
            throw ToolkitError(.invalidArgument, "prediction has \(prediction.count) voxels, the ground truth \(truth.count)")
        }
        var inter = 0, p = 0, g = 0
        for i in 0..<truth.count {
            let a = prediction[i] != 0, b = truth[i] != 0
            if a { p += 1 }
            if b { g += 1 }
            if a && b { inter += 1 }
        }
        return fromCounts(intersection: inter, prediction: p, truth: g)
    }

    /// Dice from voxel counts.
    public static func fromCounts(intersection: Int, prediction: Int, truth: Int) -> Double {
        prediction + truth == 0 ? 1 : 2 * Double(intersection) / Double(prediction + truth)
    }
}
