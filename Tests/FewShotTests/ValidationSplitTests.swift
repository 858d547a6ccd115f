import Diagnostics
import FewShot
import MedicalData
import NN
import TensorCore
import XCTest

/// The validation split of meta-training: held-out chunks of the training organs that no training episode
/// touches, validation episodes made of them only (never the test organ), a deterministic score that leaves
/// θ as it was, and the best epoch kept in the training state.
final class ValidationSplitTests: XCTestCase {
    /// The slices of the held-out chunks (every 2nd of 4) of each training organ's range.
    private func heldOut(_ organ: String) throws -> Set<Int> {
        let chunks = try ChunkPlan.sameVolume(SyntheticScan.organs[organ]!.slices, chunks: 4)
        return Set(chunks.enumerated().filter { ($0.offset + 1) % 2 == 0 }.flatMap { Array($0.element.slices) })
    }

    func testTrainingNeverDrawsAHeldOutChunkAndValidationOnlyThose() throws {
        let model = try FewShotFixtures.tinyModel()
        let source = try SyntheticScan.source(model: model, chunks: 4, validationEvery: 2)
        var rng = SeededGenerator(seed: 11)
        for _ in 0..<40 {
            for organ in source.organs {
                let d = try source.draw(organ: organ, supportShots: 2, queryShots: 3, generator: &rng)
                let used = Set(d.supports.map(\.slice) + d.queries.map(\.slice))
                XCTAssertTrue(used.isDisjoint(with: try heldOut(organ)), "\(organ): training draw \(used.sorted()) uses held-out slices")
            }
        }
        let validation = try source.validationEpisodes()
        XCTAssertEqual(Set(validation.map(\.organ)), Set(source.organs))
        XCTAssertFalse(validation.contains { $0.organ == "liver" }, "the test organ is never validated on")
        for ep in validation {
            let o = try XCTUnwrap(ep.origin)
            let held = try heldOut(ep.organ)
            XCTAssertTrue(Set(o.supportSlices + o.querySlices).isSubset(of: held), "\(ep.organ): \(o.supportSlices) \(o.querySlices)")
            XCTAssertFalse(ep.queries.isEmpty)
            XCTAssertFalse(o.querySlices.contains(o.supportSlices[0]))
        }
        // Every held-out chunk with a support and a query (Setting 1: all of an organ's slices allowed), and the
        // same episodes every time.
        let usable = try source.organs.map { o in
            try ChunkPlan.sameVolume(SyntheticScan.organs[o]!.slices, chunks: 4).enumerated().filter { ($0.offset + 1) % 2 == 0 && $0.element.slices.count >= 2 }.count
        }.reduce(0, +)
        XCTAssertGreaterThan(usable, source.organs.count)
        XCTAssertEqual(validation.count, usable)
        XCTAssertEqual(try source.validationEpisodes().map(\.origin), validation.map(\.origin))
        // Without the split: no validation episodes, and the draws of a source without it are unchanged.
        let plain = try SyntheticScan.source(model: model, chunks: 4)
        XCTAssertEqual(try plain.validationEpisodes().count, 0)
        XCTAssertThrowsError(try SyntheticScan.source(model: model, chunks: 4, validationEvery: 1))
    }

    func testValidationIsDeterministicLeavesThetaAndTheBestEpochIsKept() throws {
        let model = try FewShotFixtures.tinyModel()
        let source = try SyntheticScan.source(model: model, chunks: 4, validationEvery: 2)
        let validation = try source.validationEpisodes()
        var config = MetaLearnerConfig()
        (config.epochs, config.innerSteps, config.tasksPerBatch, config.queryShots) = (3, 2, 2, 1)
        let learner = try MetaLearner(model: model, config: config)
        let theta = model.snapshot(trainableOnly: true)
        let a = try learner.validate(validation), b = try learner.validate(validation)
        XCTAssertEqual(a, b)
        XCTAssertEqual(model.snapshot(trainableOnly: true), theta, "validation leaves the model at θ")
        XCTAssertTrue((0...1).contains(a.dice) && a.loss.isFinite && a.episodes == validation.count, "\(a)")
        XCTAssertEqual(Set(a.organs.keys), Set(source.organs))
        XCTAssertEqual(a.dice, a.organs.values.reduce(0, +) / Float(a.organs.count), accuracy: 1e-6)

        var scores: [Float] = []
        for _ in 0..<3 {
            try learner.trainEpoch(source)
            let v = try learner.validate(validation)
            learner.recordValidation(v)
            scores.append(v.dice)
        }
        let best = try XCTUnwrap(learner.bestValidatedEpoch)
        XCTAssertEqual(best.validation?.dice, scores.max())
        XCTAssertEqual(best.epoch, scores.firstIndex(of: scores.max()!))
        // The validations survive the training state's round trip.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("validation-state-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try learner.state().write(to: url)
        XCTAssertEqual(try TrainingState.read(url).history.map(\.validation), learner.history.map(\.validation))
    }
}
