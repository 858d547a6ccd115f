import FewShot
import Imaging
import Foundation
import MedicalData
import SAM
import SSMSAM
import TestSupport
import XCTest

/// The evaluation runner on the shared CT (30 slices) with the small TinyViT model: what it writes, that the
/// written predictions give the recorded Dice, and that query labels never reach a prediction.
final class EvaluationRunnerTests: XCTestCase {
    static let abdomen = FewShotFixtures.tests.deletingLastPathComponent().appendingPathComponent("../shared/data/abdomen-ct").standardizedFileURL
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("eval-runner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func evaluate(labels: URL, out: String) throws -> (EvaluationRecord, URL) {
        let ct = try TestAssets.require(Self.abdomen.appendingPathComponent("ct.nii.gz"), "the shared abdominal CT",
                                        howToGet: "put the team's shared folder beside the repository (../shared/data/abdomen-ct)")
        let model = try FewShotFixtures.tinyModel()
        let sam = try FewShotFixtures.base(tiny: true)
        let bank = SliceBank(imageSize: model.config.base.encoder.imageSize, preset: .ct, ssm: model)
        let zeroShot = ZeroShotMethod(sam: sam, sharesEncoder: true)
        let runner = EvaluationRunner(image: ct, labels: labels, labelMap: .totalSegmentator, preset: .ct, chunks: 2)
        let url = dir.appendingPathComponent(out)
        let record = try runner.run(organs: ["spleen"], methods: { _ in
            [SSMSAMMethod(name: "ssmsam", model: model, adaptation: try FineTuner(model: model, steps: 1, learningRate: 1e-3)), zeroShot]
        }, bank: bank, info: EvaluationRunner.RunInfo(), out: url)
        return (record, url)
    }

    func testItWritesTheRecordPredictionsAndPanelsAndThePredictionsGiveTheRecordedDice() throws {
        let labels = Self.abdomen.appendingPathComponent("labels.nii.gz")
        let (record, out) = try evaluate(labels: labels, out: "run")
        let spleen = try XCTUnwrap(record.organs["spleen"])
        XCTAssertEqual(Set(spleen.methods.keys), ["ssmsam", "sam_point", "sam_box", "sam_mask"])
        XCTAssertEqual(Set(spleen.baselines.keys), ["sam_point", "sam_box", "sam_mask"])
        XCTAssertEqual(spleen.methods["ssmsam"]?.querySlices, 28, "every query slice of the two chunks (30 slices, 2 supports)")
        XCTAssertEqual(spleen.methods["ssmsam"]?.adaptationSeconds?.count, 2)
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: out.path))
        XCTAssertTrue(files.isSuperset(of: ["record.json", "prediction_spleen.nii.gz", "prediction_spleen_sam_box.nii.gz", "panels"]), "\(files)")
        let panelFiles = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("panels").path).sorted()
        XCTAssertEqual(panelFiles.count, 2)
        // Support | query | the four methods' predictions | label, 6 pixels apart, each under a caption.
        let panel = try ImageIO.read(out.appendingPathComponent("panels").appendingPathComponent(panelFiles[0]))
        let column = (panel.width - 6 * 6) / 7
        XCTAssertEqual(7 * column + 6 * 6, panel.width, "seven columns")
        for k in 0..<7 {
            let x0 = k * (column + 6)
            let captioned = (0..<PixelFont.lineHeight + 8).contains { y in (x0..<x0 + column).contains { panel[$0, y, 0] == 255 && panel[$0, y, 1] == 255 } }
            XCTAssertTrue(captioned, "column \(k) has a caption")
        }
        // Dice recomputed from the written file and the label map, over the query slices.
        let truth = try NIfTIReader.readLabels(labels)
        let predicted = try NIfTIReader.readLabels(out.appendingPathComponent("prediction_spleen.nii.gz"))
        XCTAssertEqual(predicted.dims, truth.dims)
        XCTAssertEqual(predicted.affine, truth.affine)
        let supports = Set(spleen.chunks.map(\.support)), n = truth.dims[0] * truth.dims[1]
        var inter = 0, p = 0, g = 0
        for k in 0..<truth.dims[2] where !supports.contains(k) {
            for i in 0..<n {
                let t = truth.labels[k * n + i] == 1, q = predicted.labels[k * n + i] == 1
                (inter, p, g) = (inter + (t && q ? 1 : 0), p + (q ? 1 : 0), g + (t ? 1 : 0))
            }
        }
        XCTAssertEqual(spleen.dice, Dice.fromCounts(intersection: inter, prediction: p, truth: g), accuracy: 1e-12)
        // A second run into an existing folder is refused and leaves it as it was.
        XCTAssertThrowsError(try evaluate(labels: labels, out: "run"))
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: out.path)), files)
    }

    /// `eval --volume DIR`: a DICOM series is evaluated like a NIfTI file; its predictions take the label map's
    /// header (a series has none to copy) and lie on the series' grid.
    func testADICOMSeriesIsEvaluatedAndItsPredictionsLieOnItsGrid() throws {
        let shared = Self.abdomen.deletingLastPathComponent().appendingPathComponent("abdomen-ct-dicom")
        let series = try TestAssets.require(shared.appendingPathComponent("series"), "the shared DICOM CT series",
                                            howToGet: "put the team's shared folder beside the repository (../shared/data/abdomen-ct-dicom)")
        let labels = shared.appendingPathComponent("labels.nii.gz")
        let model = try FewShotFixtures.tinyModel()
        let bank = SliceBank(imageSize: model.config.base.encoder.imageSize, preset: .ct, ssm: model)
        let runner = EvaluationRunner(image: series, labels: labels, labelMap: .totalSegmentator, preset: .ct, chunks: 2)
        let out = dir.appendingPathComponent("dicom")
        let record = try runner.run(organs: ["spleen"], methods: { _ in
            [SSMSAMMethod(name: "ssmsam", model: model, adaptation: try FineTuner(model: model, steps: 1, learningRate: 1e-3))]
        }, bank: bank, info: EvaluationRunner.RunInfo(), out: out)
        XCTAssertEqual(record.organs["spleen"]?.methods["ssmsam"]?.querySlices, 18, "20 slices, 2 supports")
        let volume = try VolumeReader.read(series)
        let predicted = try NIfTIReader.readLabels(out.appendingPathComponent("prediction_spleen.nii.gz"), matching: volume)
        XCTAssertEqual(predicted.dims, [512, 512, 20])
    }

    func testScrambledQueryLabelsGiveIdenticalPredictions() throws {
        let labels = Self.abdomen.appendingPathComponent("labels.nii.gz")
        let truth = try NIfTIReader.readLabels(labels)
        // The spleen's mask on every query slice replaced by its mirror image (the slices still show the organ,
        // so the chunks are the same); the support slices keep their labels.
        let range = try XCTUnwrap(truth.sliceRange(1))
        let supports = Set(try ChunkPlan.sameVolume(range, chunks: 2).map(\.support))
        var scrambled = truth.labels
        let (nx, ny) = (truth.dims[0], truth.dims[1])
        for k in range where !supports.contains(k) {
            for j in 0..<ny { for i in 0..<nx {
                let here = k * nx * ny + j * nx + i, mirror = k * nx * ny + j * nx + (nx - 1 - i)
                scrambled[here] = truth.labels[mirror] == 1 ? 1 : (truth.labels[here] == 1 ? 0 : truth.labels[here])
            } }
        }
        let scrambledURL = dir.appendingPathComponent("scrambled.nii.gz")
        try NIfTIWriter.writeLabels(LabelVolume(dims: truth.dims, spacing: truth.spacing, labels: scrambled, affine: truth.affine),
                                    like: labels, to: scrambledURL)
        let (a, outA) = try evaluate(labels: labels, out: "a")
        let (b, outB) = try evaluate(labels: scrambledURL, out: "b")
        for name in ["prediction_spleen.nii.gz", "prediction_spleen_sam_point.nii.gz", "prediction_spleen_sam_box.nii.gz",
                     "prediction_spleen_sam_mask.nii.gz"] {
            XCTAssertEqual(try NIfTIReader.readLabels(outA.appendingPathComponent(name)).labels,
                           try NIfTIReader.readLabels(outB.appendingPathComponent(name)).labels, name)
        }
        XCTAssertNotEqual(a.organs["spleen"]!.dice, b.organs["spleen"]!.dice, "the scrambled labels do change the score")
    }
}
