import Diagnostics
import FewShot
import Formats
import Foundation
import NN
import SSMSAM
import TensorCore
import XCTest

/// The online optimiser and plain fine-tuning on a support pair: θ' returned, the model left at θ, the
/// rates of each step used in their step; the learned rates saved and loaded with the model.
final class AdaptationTests: XCTestCase {
    private func supportPair(_ model: SSMSAMModel) throws -> [FewShotPair] {
        let s = model.config.base.encoder.imageSize
        let image = FewShotFixtures.image(size: s, phase: 0.3)
        let mask = FewShotFixtures.ellipse(size: s, cx: 0.45 * Float(s), cy: 0.5 * Float(s), rx: 0.2 * Float(s), ry: 0.15 * Float(s))
        let features = try SliceFeatures.of(image, model: model)
        let points = FewShotPair.points(mask, model: model, valid: (s, s), seed: 1)
        return [.selfPair(features, mask: mask, label: try FewShotPair.lossLabel(mask, grid: model.grid), points: points)]
    }

    func testTheOnlineOptimiserReturnsThetaPrimeAndRestoresTheModel() throws {
        let model = try FewShotFixtures.tinyModel()
        let support = try supportPair(model)
        let names = model.trainableParameters().map(\.name)
        // Step 0 at rate 0 (no move), step 1 at 1e-2: θ' = θ - 1e-2 ∇L(θ).
        let rates = try LearnedStepRates(parameterNames: names, values: names.map { _ in [0, 1e-2] })
        let online = try OnlineOptimiser(model: model, rates: rates)
        let theta = model.snapshot(trainableOnly: true)
        let adapted = try online.adapt(on: support)
        XCTAssertEqual(model.snapshot(trainableOnly: true), theta, "the model is left at θ")
        XCTAssertEqual(adapted.losses.count, 2)
        XCTAssertEqual(adapted.losses[0], adapted.losses[1], "a zero rate at step 0 leaves θ_1 = θ_0")
        let params = model.trainableParameters().map(\.parameter)
        let loss = support[0].loss(model)
        model.zeroGrad()
        loss.backward()
        for (n, p) in zip(names, params) {
            let want = p.value - (p.grad ?? Tensor.zeros(p.shape)) * 1e-2
            let err = (adapted.parameters.values[n]! - want).maxAbs
            XCTAssertLessThanOrEqual(err, 1e-6 * Swift.max(want.maxAbs, 1), n)
        }
        model.zeroGrad()
        // θ' lowers the support loss, and withAdapted runs at θ' then puts θ back.
        let after = try online.withAdapted(model, on: support) { Variable.noGrad { support[0].loss(model).value.data[0] } }
        XCTAssertLessThan(after, adapted.losses[0])
        XCTAssertEqual(model.snapshot(trainableOnly: true), theta)
    }

    func testFineTuningMovesThetaAndRestoresTheModel() throws {
        let model = try FewShotFixtures.tinyModel()
        let support = try supportPair(model)
        let theta = model.snapshot(trainableOnly: true)
        let tuned = try FineTuner(model: model, steps: 3, learningRate: 1e-3).adapt(on: support)
        XCTAssertEqual(model.snapshot(trainableOnly: true), theta)
        XCTAssertNotEqual(tuned.parameters, theta)
        XCTAssertEqual(tuned.losses.count, 3)
        XCTAssertLessThan(tuned.losses[2], tuned.losses[0], "AdamW steps lower the support loss")
        XCTAssertThrowsError(try FineTuner(model: model, steps: 0)) { XCTAssertTrue("\($0)".contains("at least 1 step"), "\($0)") }
        XCTAssertThrowsError(try FineTuner(model: model).adapt(on: [])) { XCTAssertTrue("\($0)".contains("no labelled pairs"), "\($0)") }
    }

    func testRatesAreSavedAndLoadedWithTheModel() throws {
        let model = try FewShotFixtures.tinyModel()
        let names = model.trainableParameters().map(\.name)
        let rates = try LearnedStepRates(parameterNames: names, values: names.indices.map { i in [1e-3, Float(i) * 1e-4, 2e-3] })
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fewshot-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("meta.safetensors")
        try MetaModelFile.save(model, rates: rates, to: file)
        let (dict, _) = try SafeTensors.read(file)
        XCTAssertEqual(dict["lslr.\(names[3])"]?.shape, [3], "rates stored as lslr.<name> of shape [S]")
        let (back, backRates) = try MetaModelFile.load(file)
        XCTAssertEqual(backRates?.values, rates.values)
        XCTAssertEqual(back.snapshot(trainableOnly: true), model.snapshot(trainableOnly: true))
        // A plain SSM-SAM load reads the same file (the rates are ignored), and a plain model has no rates.
        XCTAssertEqual(try SSMSAMStore.load(file).snapshot(trainableOnly: true), model.snapshot(trainableOnly: true))
        let plain = dir.appendingPathComponent("plain.safetensors")
        try SSMSAMStore.save(model, to: plain)
        XCTAssertNil(try MetaModelFile.load(plain).rates)
        // Rates missing for a tensor: one line naming it.
        var partial = rates.stateDict()
        partial["lslr.\(names[0])"] = nil
        XCTAssertThrowsError(try LearnedStepRates(stateDict: partial, parameterNames: names, file: "m.safetensors")) { e in
            XCTAssertEqual((e as? ToolkitError)?.kind, .mismatch)
            XCTAssertEqual("\(e)", "m.safetensors: no learning rates lslr.\(names[0]) for trainable parameter \(names[0])")
        }
    }

    func testRatesStayNonNegativeAndBadInputIsAnError() throws {
        let rates = try LearnedStepRates(parameterNames: ["a", "b"], values: [[1e-3, 2e-3], [3e-3, 4e-3]])
        rates.rates[0].assign(Tensor(shape: [2], data: [-1e-4, 5e-4]))
        rates.clampNonNegative()
        XCTAssertEqual(rates.rates[0].value.data, [0, 5e-4])
        XCTAssertEqual(rates.rate("b", step: 1), 4e-3)
        XCTAssertThrowsError(try LearnedStepRates(parameterNames: ["a"], steps: 2, alpha: -1e-3)) {
            XCTAssertTrue("\($0)".contains("must be finite and >= 0"), "\($0)")
        }
        XCTAssertThrowsError(try LearnedStepRates(parameterNames: ["a", "b"], values: [[1e-3], [1e-3, 1e-3]])) {
            XCTAssertEqual("\($0)", "LSLR: b has 2 step rates, expected 1")
        }
        let model = try FewShotFixtures.tinyModel()
        XCTAssertThrowsError(try OnlineOptimiser(model: model, rates: rates)) { e in
            XCTAssertEqual((e as? ToolkitError)?.kind, .mismatch)
            XCTAssertTrue("\(e)".contains("do not name the model's trainable parameters"), "\(e)")
        }
        var config = MetaLearnerConfig()
        config.innerSteps = 0
        XCTAssertThrowsError(try MetaLearner(model: model, config: config)) {
            XCTAssertEqual("\($0)", "meta-learner: inner steps must be >= 1, got 0")
        }
    }

    /// The tiny model, one support pair as its one episode, and θ before calibration.
    private func calibrationSetUp() throws -> (model: SSMSAMModel, support: [FewShotPair], episodes: [TrainingEpisode], theta: ParameterSnapshot) {
        let model = try FewShotFixtures.tinyModel()
        let support = try supportPair(model)
        return (model, support, [TrainingEpisode(organ: "organ", support: support, queries: support)], model.snapshot(trainableOnly: true))
    }

    func testCalibratedRatesGiveEveryTensorAFirstStepOfTheGivenSize() throws {
        let (model, support, episodes, theta) = try calibrationSetUp()
        let eta: Float = 1e-3
        let rates = try RateCalibration.rates(model: model, episodes: episodes, steps: 2, stepSize: eta)
        XCTAssertEqual(model.snapshot(trainableOnly: true), theta, "calibration leaves θ as it was")
        XCTAssertEqual(rates.steps, 2)
        XCTAssertEqual(rates.names, model.trainableParameters().map(\.name))
        // One inner step with these rates: each tensor moves by RMS η, except tensors under the floor (slower).
        _ = try OnlineOptimiser(model: model, rates: rates).step(0, on: support)
        let afterOneStep = model.snapshot(trainableOnly: true)
        try model.restore(theta)
        var atSize = 0
        for name in rates.names {
            let moved = afterOneStep.values[name]! - theta.values[name]!
            let sumOfSquares: Double = moved.data.reduce(0.0) { $0 + Double($1) * Double($1) }
            let rms = (sumOfSquares / Double(moved.count)).squareRoot()
            XCTAssertEqual(rates.rate(name, step: 0), rates.rate(name, step: 1), name)
            XCTAssertLessThanOrEqual(rms, Double(eta) * 1.0001, "\(name) moved by RMS \(rms)")
            if abs(rms - Double(eta)) <= 1e-4 * Double(eta) { atSize += 1 }
        }
        XCTAssertGreaterThan(atSize, rates.names.count / 2, "most tensors step by exactly RMS η")
        // Not every rate is the same: the gradients' scales differ across tensors.
        let alphas = rates.names.map { rates.rate($0, step: 0)! }
        XCTAssertGreaterThan(alphas.max()! / alphas.min()!, 10)
        // The floor: a zero gradient gets η / (1e-3 of the median RMS), not an infinite rate.
        XCTAssertEqual(RateCalibration.stepRates(rms: [0, 1, 2, 4], stepSize: 1), [1 / (2 * RateCalibration.floorFraction), 1, 0.5, 0.25])
        XCTAssertThrowsError(try RateCalibration.rates(model: model, episodes: episodes, steps: 2, stepSize: 0)) {
            XCTAssertTrue("\($0)".contains("must be finite and > 0"), "\($0)")
        }
    }

    /// Calibrated at each step: every one of the S steps moves most tensors by RMS η (step s measured from θ_s),
    /// and the later steps' rates differ from the first's (the gradients change as the heads move).
    func testRatesCalibratedAtEachStepGiveEveryStepTheGivenSize() throws {
        let (model, support, episodes, theta) = try calibrationSetUp()
        let eta: Float = 1e-3
        let rates = try RateCalibration.rates(model: model, episodes: episodes, steps: 3, stepSize: eta, eachStep: true)
        XCTAssertEqual(model.snapshot(trainableOnly: true), theta, "calibration leaves θ as it was")
        let firstOnly = try RateCalibration.rates(model: model, episodes: episodes, steps: 3, stepSize: eta)
        XCTAssertEqual(rates.names.map { rates.rate($0, step: 0)! }, firstOnly.names.map { firstOnly.rate($0, step: 0)! },
                       "step 0 is calibrated at θ either way")
        let optimiser = try OnlineOptimiser(model: model, rates: rates)
        var changed = 0
        for s in 0..<3 {
            let before = model.snapshot(trainableOnly: true)
            _ = optimiser.step(s, on: support)
            let after = model.snapshot(trainableOnly: true)
            var atSize = 0
            for name in rates.names {
                let moved = after.values[name]! - before.values[name]!
                let rms = (moved.data.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(moved.count)).squareRoot()
                XCTAssertLessThanOrEqual(rms, Double(eta) * 1.001, "step \(s): \(name) moved by RMS \(rms)")
                if abs(rms - Double(eta)) <= 1e-3 * Double(eta) { atSize += 1 }
                if s > 0, abs(rates.rate(name, step: s)! - rates.rate(name, step: 0)!) > 1e-3 * rates.rate(name, step: 0)! { changed += 1 }
            }
            XCTAssertGreaterThan(atSize, rates.names.count / 2, "step \(s): most tensors step by RMS η")
        }
        try model.restore(theta)
        XCTAssertGreaterThan(changed, 0, "later steps have rates of their own")
    }
}

/// The adapters path: gradients through the frozen ViT encoder reach the adapters in the inner and the outer
/// loop, and the meta-batch leaves the model at θ. The query labels reach nothing but the outer loss.
final class AdapterPathTests: XCTestCase {
    private func episode(_ model: SSMSAMModel, queryLabel: (Int) -> Tensor) throws -> TrainingEpisode {
        let s = model.config.base.encoder.imageSize, f = Float(s)
        let support = try SliceFeatures.of(FewShotFixtures.image(size: s, phase: 0.2), model: model)
        guard case .image = support else { throw XCTSkip("expected the adapters path") }
        let mask = FewShotFixtures.ellipse(size: s, cx: 0.45 * f, cy: 0.5 * f, rx: 0.2 * f, ry: 0.15 * f)
        let points = FewShotPair.points(mask, model: model, valid: (s, s), seed: 2)
        let queries = try (0..<2).map { j in
            FewShotPair(target: try SliceFeatures.of(FewShotFixtures.image(size: s, phase: 0.25 + 0.05 * Float(j)), model: model),
                        label: try FewShotPair.lossLabel(queryLabel(j), grid: model.grid), reference: support, referenceMask: mask, points: points)
        }
        return TrainingEpisode(organ: "organ", support: [.selfPair(support, mask: mask, label: try FewShotPair.lossLabel(mask, grid: model.grid), points: points)],
                               queries: queries)
    }

    func testMetaGradientsReachTheAdaptersAndQueryLabelsOnlyTheOuterLoss() throws {
        let model = try FewShotFixtures.model(tiny: false)
        XCTAssertNotNil(model.adapter)
        var config = MetaLearnerConfig()
        config.tasksPerBatch = 1
        config.innerSteps = 2
        config.innerRate = 1e-2
        let learner = try MetaLearner(model: model, config: config)
        let s = model.config.base.encoder.imageSize, f = Float(s)
        let label = { (j: Int) in FewShotFixtures.ellipse(size: s, cx: (0.48 + 0.02 * Float(j)) * f, cy: 0.5 * f, rx: 0.2 * f, ry: 0.16 * f) }
        let theta = model.snapshot(trainableOnly: true)
        let g = try learner.gradients([try episode(model, queryLabel: label)], epoch: 0)
        XCTAssertEqual(model.snapshot(trainableOnly: true), theta)
        for (n, grad) in zip(learner.rates.names, g.parameters) where n.hasPrefix("adapter.") {
            XCTAssertGreaterThan(grad.maxAbs, 0, "\(n): no outer gradient through the encoder")
        }
        XCTAssertTrue(g.rates.allSatisfy { $0.data.allSatisfy(\.isFinite) })
        // Scrambled query labels: the same θ' (the inner loop never sees them), another outer gradient.
        let scrambled = try learner.gradients([try episode(model, queryLabel: { label(1 - $0).map { 1 - $0 } })], epoch: 0)
        XCTAssertEqual(scrambled.adapted, g.adapted, "query labels must not reach the adaptation")
        XCTAssertEqual(scrambled.supportLosses, g.supportLosses)
        XCTAssertNotEqual(scrambled.outerLoss, g.outerLoss)
    }
}
