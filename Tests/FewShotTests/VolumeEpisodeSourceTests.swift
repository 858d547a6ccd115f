import Diagnostics
import FewShot
import MedicalData
import TensorCore
import XCTest

/// Training episodes from a volume: chunk centres as supports, queries from the same chunk, training organs
/// only, the setting's slices only, the same episode for the same generator.
final class VolumeEpisodeSourceTests: XCTestCase {
    func testSupportIsTheChunkCentreAndQueriesShareItsChunk() throws {
        let model = try FewShotFixtures.tinyModel()
        let source = try SyntheticScan.source(model: model, chunks: 3)
        XCTAssertEqual(Set(source.organs), ["spleen", "left_kidney", "right_kidney"], "the test organ is not a task")
        var rng = SeededGenerator(seed: 5)
        for organ in source.organs {
            let ep = try source.episode(organ: organ, supportShots: 1, queryShots: 3, generator: &rng)
            let o = try XCTUnwrap(ep.origin)
            let range = SyntheticScan.organs[organ]!.slices
            let chunks = try ChunkPlan.sameVolume(range, chunks: 3)
            let chunk = try XCTUnwrap(chunks.first { $0.support == o.supportSlices[0] }, "\(organ): support \(o.supportSlices) is no chunk's centre")
            XCTAssertEqual(ep.support.count, 1)
            XCTAssertTrue(ep.support[0].isSelfPair, "the inner loop predicts the support from itself")
            XCTAssertEqual(ep.queries.count, 3)
            for (q, c) in zip(o.querySlices, o.queryChunks) {
                XCTAssertEqual(c, chunk.slices)
                XCTAssertTrue(chunk.queries.contains(q), "\(organ): query \(q) is not another slice of chunk \(chunk.slices)")
            }
            XCTAssertFalse(ep.queries.contains { $0.isSelfPair })
            // The label is the organ's: non-empty, at the loss's resolution.
            XCTAssertEqual(ep.support[0].label.shape, [1, 1, 4 * model.grid, 4 * model.grid])
            XCTAssertGreaterThan(ep.support[0].label.data.reduce(0, +), 0)
        }
    }

    func testTheSameGeneratorGivesTheSameEpisode() throws {
        let source = try SyntheticScan.source(model: try FewShotFixtures.tinyModel())
        var a = SeededGenerator(seed: 9), b = SeededGenerator(seed: 9)
        let x = try source.episode(organ: "spleen", supportShots: 1, queryShots: 2, generator: &a)
        let y = try source.episode(organ: "spleen", supportShots: 1, queryShots: 2, generator: &b)
        XCTAssertEqual(x.origin, y.origin)
        XCTAssertEqual(x.support[0].points, y.support[0].points)
    }

    func testSetting2DropsEverySliceOfTheTestOrgan() throws {
        // Spleen held out: in Setting 2 no slice showing the spleen (2...10) is used for any training organ.
        let source = try SyntheticScan.source(model: try FewShotFixtures.tinyModel(), testOrgan: "spleen", setting: .setting2, chunks: 2)
        let spleen = SyntheticScan.organs["spleen"]!.slices
        var rng = SeededGenerator(seed: 1)
        for organ in ["liver", "right_kidney"] {
            for _ in 0..<4 {
                let o = try XCTUnwrap(try source.episode(organ: organ, supportShots: 1, queryShots: 2, generator: &rng).origin)
                XCTAssertTrue((o.supportSlices + o.querySlices).allSatisfy { !spleen.contains($0) }, "\(organ): \(o)")
            }
        }
        // The left kidney (3...9) lies inside the spleen's range: nothing left to train on, so it is no task.
        XCTAssertEqual(source.organs, ["liver", "right_kidney"])
        XCTAssertEqual(source.excludedOrgans, ["left_kidney"])
        XCTAssertThrowsError(try source.episode(organ: "left_kidney", supportShots: 1, queryShots: 1, generator: &rng)) { e in
            XCTAssertTrue("\(e)".contains("has no 2 allowed slices"), "\(e)")
        }
    }

    func testTheTestOrganIsRefused() throws {
        let source = try SyntheticScan.source(model: try FewShotFixtures.tinyModel())
        var rng = SeededGenerator(seed: 1)
        XCTAssertThrowsError(try source.episode(organ: "liver", supportShots: 1, queryShots: 1, generator: &rng)) { e in
            XCTAssertEqual((e as? ToolkitError)?.kind, .invalidArgument)
            XCTAssertTrue("\(e)".contains("not a training organ"), "\(e)")
        }
    }
}
