import FewShot
import MedicalData
import XCTest

/// `meta-train --training-organs`: a source on chosen training organs draws episodes of those organs only,
/// and never of the test organ.
final class TrainingOrganChoiceTests: XCTestCase {
    func testEpisodesComeFromTheChosenOrgansOnly() throws {
        let model = try FewShotFixtures.tinyModel()
        let source = try SyntheticScan.source(model: model, testOrgan: "spleen", training: ["right_kidney", "liver"])
        XCTAssertEqual(source.organs, ["right_kidney", "liver"])
        XCTAssertEqual(source.task.testOrgan, "spleen")
        var drawn = Set<String>()
        var config = MetaLearnerConfig()
        (config.tasksPerBatch, config.innerSteps, config.queryShots) = (2, 1, 1)
        for batch in 0..<6 {
            for episode in try MetaLearner.batch(batch, epoch: 0, of: source, config: config) { drawn.insert(episode.organ) }
        }
        XCTAssertEqual(drawn, ["right_kidney", "liver"])
        let all = try SyntheticScan.source(model: model, testOrgan: "spleen", training: ["all"])
        XCTAssertEqual(Set(all.organs), ["right_kidney", "left_kidney", "liver"])
    }
}
