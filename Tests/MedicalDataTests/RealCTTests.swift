import Foundation
import MedicalData
import XCTest

/// The real abdominal CT in ../shared/data/abdomen-ct; expected facts are those of its README.
final class RealCTTests: XCTestCase {
    static var cached: (Volume, LabelVolume)?

    func load() throws -> (Volume, LabelVolume) {
        if let c = Self.cached { return c }
        try TestPaths.requireCT()
        let v = try NIfTIReader.readVolume(TestPaths.ct)
        let l = try NIfTIReader.readLabels(TestPaths.labels, matching: v)
        Self.cached = (v, l)
        return (v, l)
    }

    func testGridAndOrientation() throws {
        let (v, l) = try load()
        XCTAssertEqual(v.dims, [122, 101, 30])
        XCTAssertEqual(l.dims, [122, 101, 30])
        for s in v.spacing { XCTAssertEqual(s, 3, accuracy: 1e-6) }
        XCTAssertEqual(v.orientation, "RAS")
        // Stored RAS already, so canonicalisation is the identity and slice 0 stays the most inferior.
        XCTAssertEqual(v.sourceOrientation, "RAS")
        let r = v.intensityRange
        XCTAssertEqual(r.min, -1100)
        XCTAssertEqual(r.max, 1207)
    }

    func testOrganVoxelCountsAndSliceRangesMatchTheREADME() throws {
        let (_, l) = try load()
        let map = LabelMap.totalSegmentator
        let readme: [(String, Int, ClosedRange<Int>, Int)] = [
            ("spleen", 9452, 0...29, 30), ("right_kidney", 3947, 0...18, 19),
            ("left_kidney", 3676, 0...22, 23), ("liver", 38634, 0...29, 30),
        ]
        for (organ, voxels, range, count) in readme {
            let id = try map.id(of: organ)
            XCTAssertEqual(l.voxelCount(id), voxels, organ)
            XCTAssertEqual(l.sliceRange(id), range, organ)
            XCTAssertEqual(l.slicesContaining(id).count, count, organ)
        }
    }

    func testSetting2RemovesEverySliceWithTheTestOrgan() throws {
        let (_, l) = try load()
        let map = LabelMap.totalSegmentator
        for task in OrganTask.all {
            let s1 = try TrainingSlices.select([l], task: task, setting: .setting1, labelMap: map)
            let s2 = try TrainingSlices.select([l], task: task, setting: .setting2, labelMap: map)
            let withTest = Set(l.slicesContaining(try map.id(of: task.testOrgan)))
            XCTAssertTrue(s2.allSatisfy { !withTest.contains($0.slice) }, task.testOrgan)
            // Setting 2 is exactly Setting 1 minus the test organ's slices.
            XCTAssertEqual(s2.map(\.slice), s1.map(\.slice).filter { !withTest.contains($0) }, task.testOrgan)
            XCTAssertTrue(s1.allSatisfy { !$0.organs.contains(task.testOrgan) })
        }
        // Right kidney (slices 0-18) as the test organ leaves slices 19-29 in Setting 2.
        let rk = try TrainingSlices.select([l], task: OrganTask(testOrgan: "right_kidney"), setting: .setting2, labelMap: map)
        XCTAssertEqual(rk.map(\.slice), Array(19...29))
        // Liver and spleen span every slice: nothing is left for training in Setting 2.
        XCTAssertTrue(try TrainingSlices.select([l], task: OrganTask(testOrgan: "liver"), setting: .setting2, labelMap: map).isEmpty)
    }

    func testChunksCoverTheRangeWithoutOverlapAndSupportAtTheCentre() throws {
        let (v, l) = try load()
        let map = LabelMap.totalSegmentator
        for organ in OrganTask.protocolOrgans {
            let range = try XCTUnwrap(l.sliceRange(try map.id(of: organ)))
            for c in [1, 3, 5, 12] {
                let test = try FewShotTestCase(volume: v, labels: l, organ: organ, labelMap: map, chunks: c)
                XCTAssertEqual(test.chunks.count, c)
                XCTAssertEqual(test.chunks.flatMap { Array($0.slices) }, Array(range), "\(organ) C=\(c)")
                let sizes = test.chunks.map(\.slices.count)
                XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1)
                for ch in test.chunks {
                    XCTAssertEqual(ch.support, ch.slices.lowerBound + ch.slices.count / 2)
                    XCTAssertEqual(ch.queries, Array(ch.slices).filter { $0 != ch.support })
                }
                XCTAssertEqual(Array(test).count, c)
            }
        }
    }

    func testChunksMatchTheReferenceScript() throws {
        let (v, l) = try load()
        let organs = try XCTUnwrap(try TestPaths.json("dice_expected.json")["organs"] as? [String: [String: Any]])
        for (organ, e) in organs {
            let test = try FewShotTestCase(volume: v, labels: l, organ: organ, labelMap: .totalSegmentator, chunks: 3)
            let chunks = try XCTUnwrap(e["chunks"] as? [[Int]])
            XCTAssertEqual(test.chunks.map { [$0.slices.lowerBound, $0.slices.upperBound, $0.support] }, chunks, organ)
            XCTAssertEqual(test.scorer.slices, try XCTUnwrap(e["query_slices"] as? [Int]), organ)
        }
    }

    func testEpisodesCarryImagesAndTheSupportMaskOnly() throws {
        let (v, l) = try load()
        let test = try FewShotTestCase(volume: v, labels: l, organ: "liver", labelMap: .totalSegmentator, chunks: 3)
        for episode in test {
            let chunk = test.chunks[episode.chunk]
            XCTAssertEqual(episode.support.index, chunk.support)
            XCTAssertEqual(episode.support.mask, l.mask(slice: chunk.support, label: 5))
            XCTAssertEqual(episode.support.image, try v.slice(chunk.support))
            XCTAssertEqual(episode.queries.map(\.index), chunk.queries)
            XCTAssertEqual(episode.queries.first?.image.values.count, 122 * 101)
        }
        XCTAssertEqual(try test.allEpisodes().map(\.chunk), [0, 1, 2])
    }

    func testSeparateSupportVolumeMatchesChunksByRelativePosition() throws {
        let (v, l) = try load()
        // The same scan as its own "other" volume, organ spleen (0-29) supporting the right kidney's 3 chunks
        // through a custom map: relative positions pick the spleen-range centres 5, 15, 25.
        let map = try LabelMap.named("right_kidney=2,spleen=1")
        let chunks = try ChunkPlan.separateVolume(0...18, supportRange: 0...29, chunks: 3)
        XCTAssertEqual(chunks.map(\.support), [5, 15, 25])
        XCTAssertEqual(chunks.map(\.queries), [Array(0...6), Array(7...12), Array(13...18)])
        let test = try FewShotTestCase(volume: v, labels: l, organ: "right_kidney", labelMap: map, chunks: 3,
                                       support: .separateVolume(v, l))
        XCTAssertEqual(test.chunks.map(\.support), [3, 10, 16])
        XCTAssertEqual(test.scorer.slices, Array(0...18))
    }

    func testDiceOfALabelWithItselfIsOneAndWithAnEmptyPredictionZero() throws {
        let (v, l) = try load()
        for organ in OrganTask.protocolOrgans {
            let id = try LabelMap.totalSegmentator.id(of: organ)
            let g = l.mask(label: id)
            XCTAssertEqual(try Dice.of(prediction: g, truth: g), 1)
            XCTAssertEqual(try Dice.of(prediction: [UInt8](repeating: 0, count: g.count), truth: g), 0)
            let test = try FewShotTestCase(volume: v, labels: l, organ: organ, labelMap: .totalSegmentator, chunks: 3)
            XCTAssertEqual(test.scorer.dice(), 0, "nothing recorded = empty prediction")
            for k in test.scorer.slices { try test.scorer.record(prediction: l.mask(slice: k, label: id), slice: k) }
            XCTAssertEqual(test.scorer.dice(), 1)
        }
    }

    func testDiceOfAPerturbedPredictionEqualsNibabelAndNumpy() throws {
        let (v, l) = try load()
        let pred = try NIfTIReader.readLabels(TestPaths.fixture("pred_perturbed.nii.gz"), matching: v)
        let organs = try XCTUnwrap(try TestPaths.json("dice_expected.json")["organs"] as? [String: [String: Any]])
        XCTAssertEqual(organs.count, 4)
        for (organ, e) in organs {
            let id = try LabelMap.totalSegmentator.id(of: organ)
            let volumeDice = try XCTUnwrap(e["volume_dice"] as? Double)
            XCTAssertEqual(try Dice.of(prediction: pred.mask(label: id), truth: l.mask(label: id)), volumeDice,
                           accuracy: 1e-12, organ)
            let test = try FewShotTestCase(image: TestPaths.ct, labels: TestPaths.labels, organ: organ,
                                           labelMap: .totalSegmentator, chunks: 3)
            for k in test.scorer.slices { try test.scorer.record(prediction: pred.mask(slice: k, label: id), slice: k) }
            XCTAssertEqual(test.scorer.dice(), try XCTUnwrap(e["query_dice"] as? Double), accuracy: 1e-12, organ)
        }
    }

    func testScorerRefusesNonQuerySlicesAndWrongSizes() throws {
        let (v, l) = try load()
        let test = try FewShotTestCase(volume: v, labels: l, organ: "liver", labelMap: .totalSegmentator, chunks: 3)
        XCTAssertThrowsError(try test.scorer.record(prediction: [UInt8](repeating: 0, count: 122 * 101), slice: 5)) {
            XCTAssertTrue("\($0)".contains("not a query slice"), "\($0)")
        }
        XCTAssertThrowsError(try test.scorer.record(prediction: [1, 0], slice: 4)) {
            XCTAssertTrue("\($0)".contains("expected 122x101"), "\($0)")
        }
    }

    func testCTWindowMapsHounsfieldUnitsToBytes() throws {
        let (v, _) = try load()
        let preset = IntensityPreset.ct
        let r = preset.range(for: v)
        XCTAssertEqual(preset.apply([-1100, -125, 75, 275, 1207], range: r), [0, 0, 128, 255, 255])
    }
}
