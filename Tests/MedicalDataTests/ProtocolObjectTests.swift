import Foundation
import MedicalData
import XCTest

/// Label maps, intensity presets, folds, datasets and chunking on small hand-made inputs.
final class ProtocolObjectTests: XCTestCase {
    func testLabelMapPresetsAndCustomMaps() throws {
        XCTAssertEqual(try LabelMap.synapse.id(of: "liver"), 6)
        XCTAssertEqual(try LabelMap.synapse.id(of: "right kidney"), 2)
        XCTAssertEqual(try LabelMap.chaos.id(of: "spleen"), 4)
        XCTAssertEqual(try LabelMap.chaos.id(of: "liver"), 1)
        XCTAssertEqual(try LabelMap.totalSegmentator.id(of: "kidney_left"), 3)
        XCTAssertEqual(try LabelMap.totalSegmentator.id(of: "liver"), 5)
        XCTAssertEqual(try LabelMap.named("btcv"), .synapse)
        XCTAssertEqual(try LabelMap.named("chaos"), .chaos)
        XCTAssertEqual(try LabelMap.named("totalseg"), .totalSegmentator)
        let custom = try LabelMap.named("liver=63, lkidney=189")
        XCTAssertEqual(try custom.id(of: "left_kidney"), 189)
        XCTAssertEqual(custom.organNames, ["liver", "left_kidney"])
        let all = try LabelMap.named("totalseg-all")
        XCTAssertEqual(all.organs.count, 117)
        XCTAssertEqual(Set(all.organs.values), Set(1...117))
        for organ in LabelMap.totalSegmentator.organNames {
            XCTAssertEqual(try all.id(of: organ), try LabelMap.totalSegmentator.id(of: organ), "\(organ): the same id in both TotalSegmentator maps")
        }
        XCTAssertEqual(try all.id(of: "aorta"), 52)
        XCTAssertEqual(try all.id(of: "costal_cartilages"), 117)
        XCTAssertThrowsError(try LabelMap.named("acdc"))
        XCTAssertThrowsError(try LabelMap.named("liver=x"))
    }

    func testOrganTasks() throws {
        let t = try OrganTask(testOrgan: "Left Kidney")
        XCTAssertEqual(t.testOrgan, "left_kidney")
        XCTAssertEqual(t.trainingOrgans, ["liver", "spleen", "right_kidney"])
        XCTAssertEqual(OrganTask.all.map(\.testOrgan), OrganTask.protocolOrgans)
    }

    func testOrganTasksWithChosenTrainingOrgans() throws {
        let map = try LabelMap.named("spleen=1,right_kidney=2,left_kidney=3,liver=5,stomach=6,aorta=52")
        let all = try OrganTask(testOrgan: "liver", training: ["all"], labelMap: map)
        XCTAssertEqual(all.testOrgan, "liver")
        XCTAssertEqual(all.trainingOrgans, ["spleen", "right_kidney", "left_kidney", "stomach", "aorta"], "every organ of the map but the test organ, by id")
        let some = try OrganTask(testOrgan: "spleen", training: ["Aorta", "kidney_left", "aorta"], labelMap: map)
        XCTAssertEqual(some.trainingOrgans, ["aorta", "left_kidney"], "normalised, in the given order, once each")
        XCTAssertThrowsError(try OrganTask(testOrgan: "liver", training: ["stomach", "liver"], labelMap: map)) {
            XCTAssertTrue("\($0)".contains("'liver' is the test organ"), "\($0)")
        }
        XCTAssertThrowsError(try OrganTask(testOrgan: "liver", training: ["pancreas"], labelMap: map)) {
            XCTAssertTrue("\($0)".contains("pancreas") && "\($0)".contains("stomach"), "names the unknown organ and the known ones: \($0)")
        }
        XCTAssertThrowsError(try OrganTask(testOrgan: "liver", training: ["all"], labelMap: try LabelMap.named("liver=5")))
        XCTAssertThrowsError(try OrganTask(testOrgan: "pancreas", training: ["all"], labelMap: map))
    }

    func testIntensityPresets() throws {
        XCTAssertEqual(try IntensityPreset(parsing: "ct"), .window(lower: -125, upper: 275))
        XCTAssertEqual(try IntensityPreset(parsing: "mri"), .percentile(99.5))
        XCTAssertEqual(try IntensityPreset(parsing: "window:-160:240"), .window(lower: -160, upper: 240))
        XCTAssertThrowsError(try IntensityPreset(parsing: "window:5:1"))
        // Percentile with linear interpolation (numpy's default): 0..200 has its 99.5th percentile at 199.
        let values = (0...200).map(Float.init)
        XCTAssertEqual(IntensityPreset.percentile(values, 99.5), 199, accuracy: 1e-4)
        XCTAssertEqual(IntensityPreset.percentile([0, 10], 25), 2.5, accuracy: 1e-6)
        let v = Volume(dims: [201, 1, 1], spacing: [1, 1, 1], data: values, affine: identity)
        let r = IntensityPreset.mri.range(for: v)
        XCTAssertEqual(r.low, 0)
        XCTAssertEqual(r.high, 199, accuracy: 1e-4)
        let bytes = IntensityPreset.mri.apply(values, range: r)
        XCTAssertEqual(bytes.first, 0)
        XCTAssertEqual(bytes[199], 255)
        XCTAssertEqual(bytes[200], 255, "clipped above the percentile")
    }

    func testPatientFoldsNeverShareAPatient() throws {
        let patients = (1...10).map { String(format: "p%02d", $0) } + ["p01"]
        let folds = try PatientFolds(patients: patients, k: 3)
        XCTAssertEqual(folds.groups.map(\.count), [4, 3, 3])
        var seen: [String] = []
        for i in 0..<3 {
            let f = try folds.fold(i)
            XCTAssertTrue(Set(f.train).isDisjoint(with: f.test))
            XCTAssertEqual(Set(f.train).union(f.test).count, 10)
            seen += f.test
        }
        XCTAssertEqual(seen.sorted(), (1...10).map { String(format: "p%02d", $0) })
        XCTAssertThrowsError(try PatientFolds(patients: ["a"], k: 2))
    }

    func testChunkSplitsLikeArraySplit() throws {
        let c = try ChunkPlan.sameVolume(3...12, chunks: 3)
        XCTAssertEqual(c.map(\.slices), [3...6, 7...9, 10...12])
        XCTAssertEqual(c.map(\.support), [5, 8, 11])
        let one = try ChunkPlan.sameVolume(4...4, chunks: 1)
        XCTAssertEqual(one.first?.queries, [])
        XCTAssertThrowsError(try ChunkPlan.sameVolume(0...2, chunks: 4))
        XCTAssertThrowsError(try ChunkPlan.sameVolume(0...2, chunks: 0))
    }

    func testDatasetFromManifestsAndFolders() throws {
        let dir = try TestPaths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let json = dir.appendingPathComponent("cases.json")
        try Data(#"[{"image": "img/a.nii.gz", "label": "lab/a.nii.gz", "patient": "P1"}, {"image": "/abs/b.nii", "label": "lab/b.nii"}]"#.utf8).write(to: json)
        let d = try Dataset.manifest(json, labelMap: .synapse)
        XCTAssertEqual(d.cases.map(\.patient), ["P1", "b"])
        XCTAssertEqual(d.cases[0].image.path, dir.appendingPathComponent("img/a.nii.gz").path)
        XCTAssertEqual(d.cases[1].image.path, "/abs/b.nii")
        let csv = dir.appendingPathComponent("cases.csv")
        try Data("image,label,patient\nx.nii.gz,y.nii.gz,P9\n".utf8).write(to: csv)
        XCTAssertEqual(try Dataset.manifest(csv, labelMap: .chaos).cases.first?.patient, "P9")
        try Data("image,label\nonly-one-field\n".utf8).write(to: csv)
        XCTAssertThrowsError(try Dataset.manifest(csv, labelMap: .chaos)) { XCTAssertTrue("\($0)".contains("line 2")) }

        // A folder with images/ and labels/ holding the fixture grid volumes.
        let folder = dir.appendingPathComponent("ds")
        for sub in ["images", "labels"] {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        try FileManager.default.copyItem(at: TestPaths.fixture("grid_image.nii.gz"), to: folder.appendingPathComponent("images/case1.nii.gz"))
        try FileManager.default.copyItem(at: TestPaths.fixture("grid_labels.nii.gz"), to: folder.appendingPathComponent("labels/case1.nii.gz"))
        let ds = try Dataset.folder(folder, labelMap: .totalSegmentator)
        XCTAssertEqual(ds.cases.map(\.patient), ["case1"])
        let (image, labels) = try ds.load(ds.cases[0])
        XCTAssertEqual(image.dims, [4, 4, 3])
        XCTAssertEqual(labels.voxelCount(5), 4)
        XCTAssertEqual(labels.sliceRange(5), 1...1)
    }

    func testTrainingSlicesOnASmallLabelMap() throws {
        // 1x1 slices: slice k holds label ids[k].
        let ids: [Int32] = [0, 1, 5, 5, 2, 3, 0]
        let l = LabelVolume(dims: [1, 1, ids.count], spacing: [1, 1, 1], labels: ids, affine: identity)
        let task = try OrganTask(testOrgan: "liver")
        let s1 = try TrainingSlices.select([l], task: task, setting: .setting1, labelMap: .totalSegmentator)
        XCTAssertEqual(s1.map(\.slice), [1, 4, 5])
        XCTAssertEqual(s1.map(\.organs), [["spleen"], ["right_kidney"], ["left_kidney"]])
        XCTAssertThrowsError(try TrainingSlices.mask(l, slice: 2, organ: "liver", task: task, labelMap: .totalSegmentator))
        XCTAssertEqual(try TrainingSlices.mask(l, slice: 1, organ: "spleen", task: task, labelMap: .totalSegmentator), [1])
    }

    let identity: [[Double]] = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
}
