import Diagnostics

/// The only holder of a test volume's query labels: it receives predictions for query slices and reports
/// the 3-D Dice over all of them, but never hands a label out. Created by `FewShotTestCase`.
/// Not thread-safe: record predictions from one thread (or serialise access).
public final class DiceScorer {
    private let truth: LabelVolume
    private let organId: Int32
    private let querySlices: Set<Int>
    private var predictions: [Int: [UInt8]] = [:]

    init(truth: LabelVolume, organId: Int32, querySlices: Set<Int>) {
        self.truth = truth
        self.organId = organId
        self.querySlices = querySlices
    }

    /// The query slices this scorer accepts predictions for, ascending.
    public var slices: [Int] { querySlices.sorted() }

    /// Records the binary prediction (nx x ny, x fastest, non-zero = organ) for query slice `k`.
    /// A later prediction for the same slice replaces the earlier one.
    public func record(prediction: [UInt8], slice k: Int) throws {
        guard querySlices.contains(k) else {
            throw ToolkitError(.invalidArgument, "slice \(k) is not a query slice of this test case")
        }
        let n = truth.dims[0] * truth.dims[1]
        guard prediction.count == n else {
            throw ToolkitError(.invalidArgument, "prediction for slice \(k) has \(prediction.count) pixels, expected \(truth.dims[0])x\(truth.dims[1]) = \(n)")
        }
        predictions[k] = prediction
    }

    /// The 3-D Dice over all query slices; a slice without a recorded prediction counts as empty.
    public func dice() -> Double {
        let n = truth.dims[0] * truth.dims[1]
        var inter = 0, p = 0, g = 0
        for k in querySlices {
            let pred = predictions[k]
            for i in 0..<n {
                let t = truth.labels[k * n + i] == organId
                let q = (pred?[i] ?? 0) != 0
                if t { g += 1 }
                if q { p += 1 }
                if t && q { inter += 1 }
            }
        }
        return Dice.fromCounts(intersection: inter, prediction: p, truth: g)
    }

    /// Number of query slices with a recorded prediction.
    public var recordedCount: Int { predictions.count }

    /// A scorer of the same truth and query slices with no prediction recorded: one per method when several
    /// methods are scored on the same chunks.
    public func emptyCopy() -> DiceScorer { DiceScorer(truth: truth, organId: organId, querySlices: querySlices) }
}
