import TensorCore
import XCTest

/// Sums over an axis are accumulated in double and rounded once: on rows that nearly cancel (like the row
/// sums of FMAM's value weights) the result is the float nearest the exact sum, over the last axis and over
/// an inner one alike.
final class AxisSumTests: XCTestCase {
    func testNearlyCancellingRowsGiveTheRoundedExactSum() {
        var rng = SeededGenerator(seed: 3)
        let (rows, n) = (64, 256)
        var data: [Float] = []
        for _ in 0..<rows {
            var row = (0..<n).map { _ in (Float(rng.next() % 2_000_001) / 1_000_000 - 1) * 0.05 }
            // The last entry cancels the rest to within about 1e-3: a sum far smaller than its terms.
            row[n - 1] = -row.dropLast().reduce(0, +) + 1e-3
            data += row
        }
        let t = Tensor(shape: [rows, n], data: data)
        let exact = (0..<rows).map { r in Float(data[(r * n)..<((r + 1) * n)].reduce(0.0) { $0 + Double($1) }) }
        XCTAssertEqual(t.sum(axes: [1]).data, exact, "over the last axis")
        // The same rows laid out as columns: the sum over the first axis, an inner stride of `rows`.
        let transposed = Tensor(shape: [n, rows], data: (0..<(n * rows)).map { i in data[(i % rows) * n + i / rows] })
        XCTAssertEqual(transposed.sum(axes: [0]).data, exact, "over an inner axis")
        // A float running sum would be off by many ulps on some of these rows; the check above is not vacuous.
        let running = (0..<rows).map { r in data[(r * n)..<((r + 1) * n)].reduce(Float(0), +) }
        XCTAssertNotEqual(running, exact)
    }
}
