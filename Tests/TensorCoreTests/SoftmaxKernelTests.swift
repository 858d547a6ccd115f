import CKernels
import Foundation
import TensorCore
import XCTest

/// The softmax row kernels: the fused relative-position softmax gives the bits of the add followed by the
/// softmax (attention's inference and training forwards use the fused one, the backward's recompute the two
/// steps), and every path stays within float32 rounding of a double-precision softmax.
final class SoftmaxKernelTests: XCTestCase {
    private func row(_ n: Int, seed: UInt64, spread: Float) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { _ in (Float(rng.next() % 20001) / 10000 - 1) * spread }
    }

    func testFusedRelativeSoftmaxHasTheBitsOfAddThenSoftmax() {
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
                XCTAssertEqual(fused, separate, "\(h) x \(w), seed \(seed)")
                XCTAssertEqual(lseFused, lseSeparate, "\(h) x \(w), seed \(seed)")
                var noLSE = logits
                ssm_relative_softmax_row(&noLSE, rh, rw, h, w, nil)
                XCTAssertEqual(noLSE, fused)

                // Against double precision on the kernel's float32 arguments x - max: each probability within a
                // few float32 ulps (relative 1e-6).
                let mf = added.max()!, m = Double(mf)
                let e = added.map { Foundation.exp(Double($0 - mf)) }, total = e.reduce(0, +)
                for (p, x) in zip(fused, e) { XCTAssertEqual(Double(p), x / total, accuracy: 1e-6 * x / total + 1e-30) }
                XCTAssertEqual(Double(lseFused), m + Foundation.log(total), accuracy: 1e-5)
            }
        }
    }

    func testExpShiftedMatchesDoublePrecision() {
        var x = row(1000, seed: 7, spread: 80)
        let original = x
        ssm_exp_shifted(&x, 1000, 2.5)
        for (y, v) in zip(x, original) {
            let want = Foundation.exp(Double(v - Float(2.5)))  // the kernel's float32 argument, exactly
            XCTAssertEqual(Double(y), want, accuracy: 4e-7 * want + 1e-37, "exp(\(v) - 2.5)")
        }
    }
}
