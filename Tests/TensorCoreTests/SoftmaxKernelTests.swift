import CKernels
import Foundation
import TensorCore
import XCTest

/// The softmax row kernels: the fused relative-position softmax gives the bits of the add followed by the
/// softmax (attention's inference and training forwards use the fused one, the backward's recompute the two
/// steps), and every path stays within float32 rounding of a double-precision softmax, at every dispatch level
/// the CPU has (scalar, AVX2, AVX-512).
final class SoftmaxKernelTests: XCTestCase {
    private func row(_ n: Int, seed: UInt64, spread: Float) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { _ in (Float(rng.next() % 20001) / 10000 - 1) * spread }
    }

    func testFusedRelativeSoftmaxHasTheBitsOfAddThenSoftmax() {
        DispatchLevels.forEach { level in
            for (h, w) in [(64, 64), (14, 14), (3, 37)] {
                for seed in 0..<4 {
                    let logits = row(h * w, seed: UInt64(seed), spread: 12), rh = row(h, seed: 100 + UInt64(seed), spread: 3)
                    let rw = row(w, seed: 200 + UInt64(seed), spread: 3)
                    var fused = logits, separate = logits
                    var lseFused: Float = 0
                    ssm_relative_softmax_row(&fused, rh, rw, h, w, &lseFused)
                    ssm_add_relative_position(&separate, rh, rw, h, w)
                    let added = separate
                    let lseSeparate = ssm_softmax_row_lse(&separate, h * w)
                    XCTAssertEqual(fused, separate, "\(level): \(h) x \(w), seed \(seed)")
                    XCTAssertEqual(lseFused, lseSeparate, "\(level): \(h) x \(w), seed \(seed)")
                    var noLSE = logits
                    ssm_relative_softmax_row(&noLSE, rh, rw, h, w, nil)
                    XCTAssertEqual(noLSE, fused, level)

                    // Against double precision on the kernel's float32 arguments x - max: each probability within a
                    // few float32 ulps (relative 1e-6).
                    let mf = added.max()!, m = Double(mf)
                    let e = added.map { Foundation.exp(Double($0 - mf)) }, total = e.reduce(0, +)
                    for (p, x) in zip(fused, e) { XCTAssertEqual(Double(p), x / total, accuracy: 1e-6 * x / total + 1e-30, "\(level): \(h) x \(w), seed \(seed)") }
                    XCTAssertEqual(Double(lseFused), m + Foundation.log(total), accuracy: 1e-5)
                }
            }
        }
    }

    /// Attention's forward divides its output rows by the sum instead of the probabilities: the unnormalised
    /// row times 1 / sum must be the fused softmax's bits, and max + log(sum) its log-sum-exp.
    func testUnnormalisedRelativeExpScaledIsTheFusedSoftmax() {
        DispatchLevels.forEach { level in
            for (h, w) in [(64, 64), (14, 14), (3, 37)] {
                for seed in 0..<4 {
                    let logits = row(h * w, seed: 300 + UInt64(seed), spread: 12), rh = row(h, seed: 400 + UInt64(seed), spread: 3)
                    let rw = row(w, seed: 500 + UInt64(seed), spread: 3)
                    var softmax = logits, unnormalised = logits
                    var lse: Float = 0, rowMax: Float = 0
                    ssm_relative_softmax_row(&softmax, rh, rw, h, w, &lse)
                    let sum = ssm_relative_exp_row(&unnormalised, rh, rw, h, w, &rowMax)
                    let inverse = 1 / sum
                    XCTAssertEqual(unnormalised.map { $0 * inverse }, softmax, "\(level): \(h) x \(w), seed \(seed)")
                    XCTAssertEqual(rowMax + Foundation.log(sum), lse, "\(level): \(h) x \(w), seed \(seed)")
                    XCTAssertEqual(unnormalised.max()!, 1, "\(level): the maximum's exp")
                }
            }
        }
    }

    /// GELU on every lane width the CPU runs (16, 8 and the scalar tail: 1003 values) against double precision.
    func testGELUMatchesDoublePrecisionOnEveryLane() {
        DispatchLevels.forEach { level in
            var x = row(1003, seed: 11, spread: 6)
            let original = x
            ssm_gelu(&x, 1003)
            for (y, v) in zip(x, original) {
                let want = 0.5 * Double(v) * (1 + Foundation.erf(Double(v) / 2.0.squareRoot()))
                XCTAssertEqual(Double(y), want, accuracy: 1e-6 * Swift.abs(want) + 2e-7 * Swift.abs(Double(v)) + 1e-7, "\(level): gelu(\(v))")
            }
        }
    }

    func testExpShiftedMatchesDoublePrecision() {
        DispatchLevels.forEach { level in
            var x = row(1000, seed: 7, spread: 80)
            let original = x
            ssm_exp_shifted(&x, 1000, 2.5)
            for (y, v) in zip(x, original) {
                let want = Foundation.exp(Double(v - Float(2.5)))  // the kernel's float32 argument, exactly
                XCTAssertEqual(Double(y), want, accuracy: 4e-7 * want + 1e-37, "\(level): exp(\(v) - 2.5)")
            }
        }
    }
}
