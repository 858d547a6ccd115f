import TensorCore
import XCTest

/// The strided relative-position terms against the same einsum composed of permutes and a batched product
/// (the way SAM's attention computed them before), forward and backward, on a grid that is not square and a
/// key count that differs from the query side.
final class RelativePositionTermsTests: XCTestCase {
    private func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float(rng.next() % 20001) / 10000 - 1 })
    }

    /// relH[b, y, x, k] = Σ_c q[b, y, x, c] T[y, k, c] (height) or relW[b, y, x, k] = Σ_c q[b, y, x, c] T[x, k, c]
    /// (width), through permuted copies and `Variable.matmul`.
    private func composed(_ q: Variable, _ table: Variable, _ axis: RelativePositionTerms.Axis) -> Variable {
        let (bh, h, w, d, keys) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3], table.shape[1])
        switch axis {
        case .height:
            return Variable.matmul(q.permuted([1, 0, 2, 3]).reshaped([h, bh * w, d]), table, transposeB: true)
                .reshaped([h, bh, w, keys]).permuted([1, 0, 2, 3])
        case .width:
            return Variable.matmul(q.permuted([2, 0, 1, 3]).reshaped([w, bh * h, d]), table, transposeB: true)
                .reshaped([w, bh, h, keys]).permuted([1, 2, 0, 3])
        }
    }

    func testTermsAndGradientsEqualThePermutedProduct() {
        let (bh, h, w, d) = (3, 4, 6, 5)
        for (axis, lines, keys) in [(RelativePositionTerms.Axis.height, h, h), (.height, h, 7), (.width, w, w), (.width, w, 3)] {
            let qValue = random([bh, h, w, d], seed: 1), tableValue = random([lines, keys, d], seed: 2)
            let upstream = random([bh, h, w, keys], seed: 3)
            let q1 = Variable(qValue, requiresGrad: true), t1 = Variable(tableValue, requiresGrad: true)
            let q2 = Variable(qValue, requiresGrad: true), t2 = Variable(tableValue, requiresGrad: true)
            let strided = Variable.relativePositionTerms(q: q1, table: t1, axis: axis)
            let reference = composed(q2, t2, axis)
            XCTAssertEqual(strided.shape, [bh, h, w, keys])
            XCTAssertLessThan(relativeError(strided.value, reference.value), 1e-6, "\(axis), \(keys) keys: terms")
            strided.backward(upstream)
            reference.backward(upstream)
            XCTAssertLessThan(relativeError(q1.grad!, q2.grad!), 1e-6, "\(axis), \(keys) keys: dq")
            XCTAssertLessThan(relativeError(t1.grad!, t2.grad!), 1e-6, "\(axis), \(keys) keys: dtable")
        }
    }

    func testOnlyTheAskedGradientsAreComputed() {
        let q = random([2, 3, 3, 4], seed: 5), table = random([3, 3, 4], seed: 6), g = random([2, 3, 3, 3], seed: 7)
        let r = RelativePositionTerms.backward(q: q, table: table, axis: .width, gradOut: g, needQ: false, needTable: true)
        XCTAssertNil(r.q)
        XCTAssertEqual(r.table?.shape, [3, 3, 4])
    }

    private func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.shape == b.shape, "relativeError: \(a.shape) vs \(b.shape)")
        var num: Float = 0, den: Float = 0
        for (x, y) in zip(a.data, b.data) { num += (x - y) * (x - y); den += y * y }
        return (num / Swift.max(den, 1e-30)).squareRoot()
    }
}
