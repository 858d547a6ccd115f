import XCTest
import TensorCore

/// The differentiable fused attention with decomposed relative positions, against PyTorch autograd
/// (Fixtures/attention_grad.safetensors, scripts/make_attention_fixtures.py) and against the same
/// computation composed from the existing differentiable ops.
final class FusedAttentionTests: XCTestCase {
    private static let operandNames = ["q", "k", "v", "relH", "relW"]
    private var rng = SeededGenerator(seed: 0xA77E)

    private func random(_ shape: [Int], scale: Float = 1) -> Tensor {
        Tensor(shape: shape, data: (0..<shape.product).map { _ in Float.random(in: -scale...scale, using: &rng) })
    }

    /// max |a - b| / max |b|: gradients mix large and near-zero entries, so the error is relative to the tensor.
    private func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.shape == b.shape, "relativeError: \(a.shape) vs \(b.shape)")
        var worst: Float = 0
        for (x, y) in zip(a.data, b.data) where !(abs(x - y) <= worst) { worst = abs(x - y) }  // NaN counts as worst
        return worst / b.maxAbs
    }

    private func attention(_ x: [Variable], scale: Float) -> Variable {
        Variable.relativePositionAttention(q: x[0], k: x[1], v: x[2], relH: x[3], relW: x[4], scale: scale)
    }

    /// softmax(scale q kᵀ + relH + relW) v from matmul, broadcast adds and softmax (what SAM composed before).
    private func composed(_ x: [Variable], scale: Float) -> Variable {
        let (bh, h, w, d) = (x[0].shape[0], x[0].shape[1], x[0].shape[2], x[0].shape[3])
        let n = h * w
        let logits = Variable.matmul(x[0].reshaped([bh, n, d]) * scale, x[1], transposeB: true).reshaped([bh, h, w, h, w])
            + x[3].reshaped([bh, h, w, h, 1]) + x[4].reshaped([bh, h, w, 1, w])
        return Variable.matmul(logits.reshaped([bh, n, n]).softmax(axis: -1), x[2])
    }

    private func randomOperands(bh: Int, h: Int, w: Int, d: Int) -> [Tensor] {
        let n = h * w
        return [random([bh, h, w, d], scale: 2), random([bh, n, d], scale: 2), random([bh, n, d]),
                random([bh, h, w, h], scale: 2), random([bh, h, w, w], scale: 2)]
    }

    /// At every dispatch level of the exp / softmax kernels the CPU has.
    func testMatchesTorch() throws {
        let f = try Fixture("attention_grad")
        try DispatchLevels.forEach { level in try matchesTorch(f, level: level) }
    }

    private func matchesTorch(_ f: Fixture, level: String) throws {
        for name in ["window", "blocks"] {
            let label = "\(name) (\(level) kernels)"
            let x = try Self.operandNames.map { Variable(try f.tensor("\(name).in.\($0)"), requiresGrad: true, name: $0) }
            let out = attention(x, scale: f.float("\(name).scale"))
            let expected = try f.tensor("\(name).out")
            XCTAssertEqual(out.shape, expected.shape)
            let forwardError = zip(out.value.data, expected.data).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(forwardError, 1e-5, "\(label) forward")
            out.backward(try f.tensor("\(name).grad_out"))
            var report = "\(label): forward max abs error \(forwardError)"
            for (v, key) in zip(x, Self.operandNames) {
                guard let g = v.grad else { XCTFail("\(label): no gradient for \(key)"); continue }
                let err = relativeError(g, try f.tensor("\(name).grad.\(key)"))
                XCTAssertLessThanOrEqual(err, 1e-4, "\(label) grad \(key)")
                report += ", d\(key) \(err)"
            }
            print(report)
        }
    }

    /// The forward's online softmax over several key tiles (one key line per tile, so the running maximum rises
    /// and earlier tiles are rescaled), and its log-sum-exp through the backward, against PyTorch at every level.
    func testKeyTilesMatchTorch() throws {
        let f = try Fixture("attention_grad")
        try DispatchLevels.forEach { level in
            for name in ["window", "blocks"] {
                let x = try Self.operandNames.map { try f.tensor("\(name).in.\($0)") }
                let (w, scale) = (x[0].shape[2], f.float("\(name).scale"))
                for keys in [w, 3 * w, FusedAttention.keysPerTile] {
                    let label = "\(name), \(keys) keys per tile (\(level) kernels)"
                    let (out, lse) = FusedAttention.relativePositionWithLSE(q: x[0], k: x[1], v: x[2], relH: x[3], relW: x[4],
                                                                            scale: scale, keysPerTile: keys)
                    let inference = FusedAttention.relativePosition(q: x[0], k: x[1], v: x[2], relH: x[3], relW: x[4],
                                                                    scale: scale, keysPerTile: keys)
                    XCTAssertEqual(out.data.map(\.bitPattern), inference.data.map(\.bitPattern), label)
                    let expected = try f.tensor("\(name).out")
                    XCTAssertLessThanOrEqual(zip(out.data, expected.data).map { abs($0 - $1) }.max()!, 1e-5, "\(label) forward")
                    let g = FusedAttention.relativePositionBackward(q: x[0], k: x[1], v: x[2], relH: x[3], relW: x[4], scale: scale,
                                                                    out: out, lse: lse, gradOut: try f.tensor("\(name).grad_out"))
                    for (grad, key) in zip([g.q, g.k, g.v, g.relH, g.relW], Self.operandNames) {
                        XCTAssertLessThanOrEqual(relativeError(grad!, try f.tensor("\(name).grad.\(key)")), 1e-4, "\(label) grad \(key)")
                    }
                }
            }
        }
    }

    func testInferenceEqualsRecordingForward() {
        let t = randomOperands(bh: 3, h: 9, w: 17, d: 8)  // N = 153: a full and a partial row block
        let recorded = attention(t.map { Variable($0, requiresGrad: true) }, scale: 0.35)
        let inference = Variable.noGrad { attention(t.map { Variable($0, requiresGrad: true) }, scale: 0.35) }
        let constants = attention(t.map { Variable($0) }, scale: 0.35)
        XCTAssertTrue(recorded.requiresGrad)
        XCTAssertFalse(inference.requiresGrad)
        XCTAssertFalse(constants.requiresGrad)
        XCTAssertEqual(recorded.value.data.map(\.bitPattern), inference.value.data.map(\.bitPattern))
        XCTAssertEqual(recorded.value.data.map(\.bitPattern), constants.value.data.map(\.bitPattern))
    }

    func testGradientsMatchComposedOps() {
        let t = randomOperands(bh: 2, h: 9, w: 16, d: 16)  // N = 144 > one row block
        let g = random([2, 144, 16])
        let fused = t.map { Variable($0, requiresGrad: true) }, reference = t.map { Variable($0, requiresGrad: true) }
        let out = attention(fused, scale: 0.25), expected = composed(reference, scale: 0.25)
        XCTAssertLessThanOrEqual(relativeError(out.value, expected.value), 1e-5, "forward")
        out.backward(g)
        expected.backward(g)
        for (i, key) in Self.operandNames.enumerated() {
            XCTAssertLessThanOrEqual(relativeError(fused[i].grad!, reference[i].grad!), 1e-4, "grad \(key)")
        }
    }

    /// Only the inputs that require a gradient get one, and each equals the one computed with all of them.
    func testGradientsOnlyForInputsThatRequireOne() {
        let t = randomOperands(bh: 2, h: 6, w: 7, d: 8)
        let g = random([2, 42, 8])
        let all = t.map { Variable($0, requiresGrad: true) }
        attention(all, scale: 0.3).backward(g)
        for subset in [[2], [0], [1, 4], [3]] {
            let x = t.indices.map { Variable(t[$0], requiresGrad: subset.contains($0)) }
            attention(x, scale: 0.3).backward(g)
            for i in t.indices {
                if subset.contains(i) {
                    XCTAssertEqual(x[i].grad, all[i].grad, "\(Self.operandNames[i]) with only \(subset) requiring a gradient")
                } else {
                    XCTAssertNil(x[i].grad)
                }
            }
        }
    }
}
