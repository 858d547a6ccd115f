import FewShot
import Formats
import Foundation
import XCTest

/// Episode plans (the episodes shared with the PyTorch twin): a plan round-trips through its JSON, training on
/// it is exactly training on the volume source it was drawn from (same state bytes), and a tampered input is
/// refused by name.
final class EpisodePlanTests: XCTestCase {
    /// A stand-in for SHA-256 in tests (FNV-1a, 64 bits, hex): the plan only needs equal bytes to give equal strings.
    static func digest(_ data: Data) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in data { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(format: "%016llx", h)
    }

    private func plan(_ config: MetaLearnerConfig) throws -> (EpisodePlan, StateDict) {
        let source = try SyntheticScan.source(model: try FewShotFixtures.tinyModel())
        return try EpisodePlan.make(source: source, config: config, inputsFile: "plan.inputs.safetensors", digest: Self.digest) { p in
            (p.toolkit, p.base, p.labelMap, p.intensity) = ("tests", "mobilesam_small", "totalseg", "ct")
        }
    }

    func testThePlanRoundTripsThroughJSON() throws {
        var config = TrainingStateTests.config()
        config.epochs = 2
        let (plan, inputs) = try plan(config)
        let back = try JSONDecoder().decode(EpisodePlan.self, from: try plan.json())
        XCTAssertEqual(back, plan)
        XCTAssertEqual(plan.epochs.count, 2)
        XCTAssertEqual(plan.epochs[0].batches[0].tasks.count, config.tasksPerBatch)
        XCTAssertFalse(plan.trainingOrgans.contains("liver"), "the test organ is no task")
        for t in plan.epochs.flatMap({ $0.batches.flatMap(\.tasks) }) {
            XCTAssertNotEqual(t.organ, "liver")
            XCTAssertEqual(t.supports[0].points.count, 4 + 4, "the tiny model's points, as drawn")
            for k in t.supports.map(\.slice) + t.queries.map(\.slice) {
                XCTAssertNotNil(inputs["grey.v\(t.volume).s\(k)"])
                XCTAssertEqual(inputs["mask.v\(t.volume).s\(k).\(t.organ)"]?.dtype, .u8)
            }
        }
    }

    func testTrainingOnThePlanIsTrainingOnTheSource() throws {
        let config = TrainingStateTests.config()
        let (plan, inputs) = try plan(config)
        let direct = try MetaLearner(model: try FewShotFixtures.tinyModel(), config: config)
        let source = try SyntheticScan.source(model: direct.model)
        for _ in 0..<2 { try direct.trainEpoch(source) }

        var states: [Data] = []
        for _ in 0..<2 {
            let learner = try MetaLearner(model: try FewShotFixtures.tinyModel(), config: config)
            let episodes = try PlanEpisodes(plan: plan, inputs: inputs, inputsFile: "plan", model: learner.model, cache: nil, digest: Self.digest)
            for e in 0..<2 { try learner.trainEpoch { try episodes.batch(epoch: e, batch: $0) } }
            XCTAssertEqual(learner.history, direct.history)
            states.append(try learner.state().serialized())
        }
        XCTAssertTrue(states[0] == states[1], "training on a plan is deterministic")
        XCTAssertTrue(states[0] == (try direct.state().serialized()), "the plan's episodes are the source's, bit for bit")
    }

    func testATamperedInputIsRefused() throws {
        var config = TrainingStateTests.config()
        config.epochs = 1
        let (plan, original) = try plan(config)
        var inputs = original
        let name = plan.slices[0].name
        var grey = inputs["grey.\(name)"]!
        grey.bytes[0] ^= 0xff
        inputs["grey.\(name)"] = grey
        let episodes = try PlanEpisodes(plan: plan, inputs: inputs, inputsFile: "plan", model: try FewShotFixtures.tinyModel(), cache: nil, digest: Self.digest)
        XCTAssertThrowsError(try episodes.batch(epoch: 0, batch: 0)) { e in
            XCTAssertTrue("\(e)".contains("the model input of \(name)"), "\(e)")
        }
    }
}
