import XCTest
import TensorCore

/// SGD, AdamW and cosine annealing against torch.optim (fixtures by scripts/make_fixtures.py).
final class OptimizerTests: XCTestCase {
    /// Runs 10 steps of least squares with `make`'s optimiser and compares every step's weights.
    private func run(_ name: String, tolerance: Float, _ make: (Fixture, [Variable]) -> Optimizer) throws {
        let f = try Fixture(name)
        let w = Variable(try f.tensor("w0"), requiresGrad: true, name: "w")
        let opt = make(f, [w])
        let xs = try f.tensor("x"), ys = try f.tensor("y"), expected = try f.tensor("weights")
        for step in 0..<10 {
            opt.zeroGrad()
            let x = Variable(xs.narrow(axis: 0, start: step, length: 1).reshaped([5, 4]))
            let y = Variable(ys.narrow(axis: 0, start: step, length: 1).reshaped([5, 3]))
            let d = Variable.matmul(x, w) - y
            (d * d).mean().backward()
            opt.step()
            let want = expected.narrow(axis: 0, start: step, length: 1).reshaped([4, 3])
            let err = zip(w.value.data, want.data).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(err, tolerance, "\(name) step \(step + 1): max abs error \(err)")
        }
    }

    func testAdamWMatchesTorch() throws {
        try run("adamw", tolerance: 1e-6) { f, p in
            AdamW(p, learningRate: f.float("lr"), beta1: f.float("beta1"), beta2: f.float("beta2"),
                  eps: f.float("eps"), weightDecay: f.float("weightDecay"))
        }
    }

    func testSGDMomentumMatchesTorch() throws {
        try run("sgd_momentum", tolerance: 1e-6) { f, p in
            SGD(p, learningRate: f.float("lr"), momentum: f.float("momentum"), weightDecay: f.float("weightDecay"))
        }
    }

    func testCosineAnnealingMatchesTorch() throws {
        let f = try Fixture("cosine")
        let s = CosineAnnealing(baseLearningRate: f.float("base"), tMax: f.int("tMax"), etaMin: f.float("etaMin"))
        for (t, want) in try f.tensor("lrs").data.enumerated() {
            XCTAssertEqual(s.learningRate(at: t), want, accuracy: 1e-6, "epoch \(t)")
        }
    }
}
