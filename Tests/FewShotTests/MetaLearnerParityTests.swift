import FewShot
import Formats
import Foundation
import NN
import SSMSAM
import TensorCore
import XCTest

/// One first-order MAML++ meta-batch against the PyTorch twin (scripts/make_fewshot_fixtures.py): θ' of each
/// task after S inner steps with the learned per-step rates, the outer gradient, the rates' gradient, and the
/// rates after the AdamW step and the clamp; and mutated details (the rate gradient's sign, the multi-step
/// weights) that must fail.
final class MetaLearnerParityTests: XCTestCase {
    struct Case {
        let model: SSMSAMModel
        let ref: [String: Tensor]
        let meta: [String: String]
        let names: [String]
        let zero: Set<String>
        let episodes: [TrainingEpisode]
        let config: MetaLearnerConfig
        var epoch: Int { Int(meta["epoch"]!)! }
    }

    private func load() throws -> Case {
        let (ref, meta) = try FewShotFixtures.read(FewShotFixtures.directory.appendingPathComponent("fewshot_tinyvit.safetensors"))
        let model = try FewShotFixtures.tinyModel()
        let names = try JSONDecoder().decode([String].self, from: Data(meta["trainable"]!.utf8))
        XCTAssertEqual(model.trainableParameters().map(\.name), names, "the trainable tensors are the twin's, in order")
        let zero = Set(try JSONDecoder().decode([String].self, from: Data(meta["zero_gradient"]!.utf8)))
        struct Task: Decodable { let support_slice: Int; let query_slices: [Int] }
        let tasks = try JSONDecoder().decode([Task].self, from: Data(meta["tasks"]!.utf8))
        let features = try (0..<3).map { try SliceFeatures.of(ref["input.image.\($0)"]!, model: model) }
        var episodes: [TrainingEpisode] = []
        for (i, t) in tasks.enumerated() {
            let mask = ref["input.task.\(i).support_mask"]!, xy = ref["input.task.\(i).points"]!, lab = ref["input.task.\(i).point_labels"]!
            let points = (0..<lab.count).map { SamplerPoint(x: xy.data[2 * $0], y: xy.data[2 * $0 + 1], positive: lab.data[$0] > 0.5) }
            let s = features[t.support_slice]
            let support = [FewShotPair.selfPair(s, mask: mask, label: try FewShotPair.lossLabel(mask, grid: model.grid), points: points)]
            let queries = try t.query_slices.enumerated().map { j, q in
                FewShotPair(target: features[q], label: try FewShotPair.lossLabel(ref["input.task.\(i).query_label.\(j)"]!, grid: model.grid),
                            reference: s, referenceMask: mask, points: points)
            }
            episodes.append(TrainingEpisode(organ: "organ\(i)", support: support, queries: queries))
        }
        var config = MetaLearnerConfig()
        config.tasksPerBatch = tasks.count
        config.queryShots = 2
        config.innerSteps = Int(meta["steps"]!)!
        config.annealingEpochs = Int(meta["annealing_epochs"]!)!
        config.epochs = Int(meta["epochs"]!)!
        config.outerRate = Float(meta["outer_rate"]!)!
        config.minOuterRate = Float(meta["min_outer_rate"]!)!
        config.eps = Float(meta["eps"]!)!
        config.weightDecay = Float(meta["weight_decay"]!)!
        return Case(model: model, ref: ref, meta: meta, names: names, zero: zero, episodes: episodes, config: config)
    }

    private func learner(_ c: Case) throws -> MetaLearner {
        var dict = StateDict()
        for n in c.names { dict[LearnedStepRates.prefix + n] = StoredTensor(c.ref[LearnedStepRates.prefix + n]!) }
        let rates = try LearnedStepRates(stateDict: dict, parameterNames: c.names, file: "fixture")
        return try MetaLearner(model: c.model, config: c.config, rates: rates)
    }

    /// max |a - b| over max |b| (the relative error the tolerances are stated in).
    private func error(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.shape == b.shape, "shapes \(a.shape) vs \(b.shape)")
        return zip(a.data, b.data).map { abs($0 - $1) }.max()! / Swift.max(b.maxAbs, 1e-30)
    }

    /// The worst relative error of a per-tensor quantity over the tensors whose gradient is not zero by
    /// construction, and the worst absolute error of those that are (relative to the largest reference).
    private func worst(_ c: Case, _ ours: [Tensor], _ key: (String) -> String) -> (relative: Float, zero: Float) {
        let scale = c.names.map { c.ref[key($0)]!.maxAbs }.max()!
        var rel: Float = 0, zero: Float = 0
        for (n, t) in zip(c.names, ours) {
            let r = c.ref[key(n)]!
            if c.zero.contains(n) { zero = Swift.max(zero, (t - r).maxAbs / scale) } else { rel = Swift.max(rel, error(t, r)) }
        }
        return (rel, zero)
    }

    func testOneMetaBatchMatchesTheTwin() throws {
        let c = try load()
        let l = try learner(c)
        let theta = c.model.snapshot(trainableOnly: true)
        let g = try l.gradients(c.episodes, epoch: c.epoch)
        XCTAssertEqual(c.model.snapshot(trainableOnly: true), theta, "the model is left at θ")

        // θ' of each task after S inner steps: ≤ 1e-5 of max |θ'|; and the update θ' - θ itself to 1e-3 of its
        // largest element, beyond two float32 ulps of θ' (the subtraction's own rounding: some updates are small).
        for (i, adapted) in g.adapted.enumerated() {
            var worstTheta: Float = 0, worstStep: Float = 0
            for n in c.names {
                let ours = adapted.values[n]!, ref = c.ref["theta_prime.\(i).\(n)"]!, start = theta.values[n]!
                worstTheta = Swift.max(worstTheta, error(ours, ref))
                let step = ref - start, ulps = 0x1p-22 * ref.maxAbs
                if !c.zero.contains(n) { worstStep = Swift.max(worstStep, ((ours - start) - step).maxAbs / (step.maxAbs + ulps / 1e-3)) }
            }
            print("task \(i): θ' worst relative error \(worstTheta), θ' - θ \(worstStep)")
            XCTAssertLessThanOrEqual(worstTheta, 1e-5, "task \(i): θ' (worst tensor, relative)")
            XCTAssertLessThanOrEqual(worstStep, 1e-3, "task \(i): θ' - θ (worst tensor, relative)")
        }
        // The losses along the way.
        let support = c.ref["support_loss"]!, query = c.ref["query_loss"]!, steps = c.config.innerSteps
        for i in 0..<c.episodes.count { for s in 0..<steps {
            XCTAssertEqual(g.supportLosses[i][s], support.data[i * steps + s], accuracy: 1e-5, "support loss, task \(i) step \(s)")
            XCTAssertEqual(g.queryLosses[i][s] ?? .nan, query.data[i * steps + s], accuracy: 1e-5, "query loss, task \(i) step \(s)")
        } }
        XCTAssertEqual(g.outerLoss, c.ref["objective"]!.data[0], accuracy: 1e-5, "the weighted outer loss")

        // The first-order outer gradient and the rates' gradient: ≤ 1e-4 relative.
        let outer = worst(c, g.parameters) { "outer_grad.\($0)" }
        XCTAssertLessThanOrEqual(outer.relative, 1e-4, "outer gradient (worst tensor)")
        XCTAssertLessThanOrEqual(outer.zero, 1e-5, "outer gradient of the zero-by-construction tensors")
        let rates = worst(c, g.rates) { "lslr_grad.\($0)" }
        print("outer gradient worst relative error \(outer.relative) (zero-by-construction \(outer.zero)), rate gradient \(rates.relative) (\(rates.zero))")
        XCTAssertLessThanOrEqual(rates.relative, 1e-4, "rate gradient (worst tensor)")
        XCTAssertLessThanOrEqual(rates.zero, 1e-5, "rate gradient of the zero-by-construction tensors")

        // The AdamW step (heads and rates) and the clamp, on the twin's gradients: the step is tested on its own
        // inputs. (On ours, AdamW's first step, lr * g / (|g| + eps), turns the float32 summation differences of
        // the near-zero rate gradients into rate differences up to 1.5e-4 relative on some CPUs and GEMM engines:
        // the gradients themselves are checked above.)
        let twin = MetaGradients(parameters: c.names.map { c.ref["outer_grad.\($0)"]! }, rates: c.names.map { c.ref["lslr_grad.\($0)"]! },
                                 outerLoss: g.outerLoss, supportLosses: g.supportLosses, queryLosses: g.queryLosses, adapted: g.adapted)
        l.apply(twin, epoch: c.epoch)
        var worstRate: Float = 0, clamped = 0
        for (i, n) in c.names.enumerated() {
            let ours = l.rates.rates[i].value, ref = c.ref["lslr_new.\(n)"]!
            worstRate = Swift.max(worstRate, error(ours, ref))
            clamped += ours.data.filter { $0 == 0 }.count
            XCTAssertTrue(ours.data.allSatisfy { $0 >= 0 }, "\(n): a negative rate after the clamp")
        }
        print("updated rates worst relative error \(worstRate), \(clamped) clamped")
        XCTAssertLessThanOrEqual(worstRate, 1e-5, "updated rates (worst tensor, relative)")
        XCTAssertEqual(clamped, c.ref.keys.filter { $0.hasPrefix("lslr_new.") }.reduce(0) { $0 + c.ref[$1]!.data.filter { $0 == 0 }.count },
                       "the same rates reach the clamp")
        XCTAssertGreaterThan(clamped, 0, "the fixture exercises the clamp")
    }

    func testAFlippedRateGradientSignFails() throws {
        // The LSLR gradient with the wrong sign (+<G, g>) must move the rates away from the twin's.
        let c = try load()
        let l = try learner(c)
        let g = try l.gradients(c.episodes, epoch: c.epoch)
        let flipped = MetaGradients(parameters: g.parameters, rates: g.rates.map { -$0 }, outerLoss: g.outerLoss,
                                    supportLosses: g.supportLosses, queryLosses: g.queryLosses, adapted: g.adapted)
        l.apply(flipped, epoch: c.epoch)
        let worstRate = zip(c.names, l.rates.rates).map { n, r in error(r.value, c.ref["lslr_new.\(n)"]!) }.max()!
        XCTAssertGreaterThan(worstRate, 1e-2, "a flipped rate-gradient sign must be visible in the updated rates")
    }

    func testOtherMultiStepWeightsFail() throws {
        // The same meta-batch under epoch 0's uniform weights (or the last step only) is not the fixture's.
        let c = try load()
        for epoch in [0, c.config.annealingEpochs] {
            let g = try learner(c).gradients(c.episodes, epoch: epoch)
            let outer = worst(c, g.parameters) { "outer_grad.\($0)" }
            XCTAssertGreaterThan(outer.relative, 1e-2, "epoch \(epoch)'s weights must give another outer gradient")
        }
    }
}
