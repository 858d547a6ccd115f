import Diagnostics
import FewShot
import Foundation
import SSMSAM
import XCTest

/// Resuming: a run of two epochs and a run of one epoch, a state file, a fresh process's worth of objects
/// and one more epoch end in identical bytes; the same seed gives the same run, another seed another one.
final class TrainingStateTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fewshot-state-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    static func config(seed: UInt64 = 7) -> MetaLearnerConfig {
        var c = MetaLearnerConfig()
        c.tasksPerBatch = 2
        c.queryShots = 1
        c.innerSteps = 2
        c.innerRate = 1e-2
        c.epochs = 4
        c.annealingEpochs = 2
        c.seed = seed
        return c
    }

    /// A fresh model, source and learner: what a new process would build.
    private func fresh(_ config: MetaLearnerConfig) throws -> (MetaLearner, VolumeEpisodeSource) {
        let model = try FewShotFixtures.tinyModel()
        return (try MetaLearner(model: model, config: config), try SyntheticScan.source(model: model))
    }

    func testResumeContinuesBitForBit() throws {
        let (straight, source) = try fresh(Self.config())
        try straight.trainEpoch(source)
        try straight.trainEpoch(source)
        let expected = try straight.state().serialized()

        let (first, source1) = try fresh(Self.config())
        try first.trainEpoch(source1)
        let file = directory.appendingPathComponent("state.safetensors")
        try first.state().write(to: file)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["state.safetensors"], "no temporary file left")

        let (resumed, source2) = try fresh(Self.config())
        try resumed.restore(try TrainingState.read(file))
        XCTAssertEqual(resumed.epoch, 1)
        try resumed.trainEpoch(source2)
        let got = try resumed.state().serialized()
        XCTAssertEqual(got.count, expected.count)
        XCTAssertTrue(got == expected, "2 epochs straight and 1 + resume + 1 must give identical state bytes")
        XCTAssertEqual(resumed.history, straight.history)
        XCTAssertEqual(resumed.history.count, 2)
        XCTAssertEqual(resumed.history[0].weights, [0.5, 0.5])
        XCTAssertEqual(resumed.history[1].weights, [0.25, 0.75])

        // The test can fail: a resume that loses AdamW's moments does not continue the run.
        var lossy = try TrainingState.read(file)
        lossy.moments = [:]
        let (forgetful, source3) = try fresh(Self.config())
        try forgetful.restore(lossy)
        try forgetful.trainEpoch(source3)
        XCTAssertNotEqual(forgetful.state().parameters, straight.state().parameters, "moments matter to the resumed run")
    }

    func testTheSeedDeterminesTheRun() throws {
        let (a, sa) = try fresh(Self.config(seed: 3))
        let (b, sb) = try fresh(Self.config(seed: 3))
        let (c, sc) = try fresh(Self.config(seed: 4))
        try a.trainEpoch(sa)
        try b.trainEpoch(sb)
        try c.trainEpoch(sc)
        XCTAssertEqual(try a.state().serialized(), try b.state().serialized(), "the same seed gives the same weights bit for bit")
        XCTAssertNotEqual(a.state().parameters, c.state().parameters, "another seed draws other episodes")
    }

    func testTheStateRoundTripsAndBadStatesAreErrors() throws {
        let (l, s) = try fresh(Self.config())
        try l.trainEpoch(s)
        let file = directory.appendingPathComponent("s.safetensors")
        try l.state().write(to: file)
        XCTAssertEqual(try TrainingState.read(file), l.state())
        XCTAssertEqual(try TrainingState.read(file).moments.count, l.rates.names.count * 2, "AdamW moments of every tensor and rate")

        // Another config: the resume is refused with one clear line.
        var other = Self.config()
        other.innerRate = 5e-3
        let (m, _) = try fresh(other)
        XCTAssertThrowsError(try m.restore(try TrainingState.read(file))) { e in
            XCTAssertEqual((e as? ToolkitError)?.kind, .mismatch)
            XCTAssertTrue("\(e)".contains("other meta-learner settings (innerRate 0.01 saved vs 0.005 given)"), "\(e)")
        }
        // Not a state file.
        let notState = directory.appendingPathComponent("model.safetensors")
        try MetaModelFile.save(l.model, rates: l.rates, to: notState)
        XCTAssertThrowsError(try TrainingState.read(notState)) { e in
            XCTAssertEqual((e as? ToolkitError)?.kind, .invalidFile)
            XCTAssertTrue("\(e)".contains("not a few-shot training state"), "\(e)")
        }
        // All epochs done.
        var short = Self.config()
        short.epochs = 1
        let (done, ds) = try fresh(short)
        try done.trainEpoch(ds)
        XCTAssertThrowsError(try done.trainEpoch(ds)) { XCTAssertTrue("\($0)".contains("epochs are done"), "\($0)") }
    }
}
