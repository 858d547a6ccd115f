import Diagnostics
import Formats
import Foundation
import NN
import SAM
import TensorCore
import TestSupport
import XCTest

/// `ssmsam parity`'s library side on bundles written by scripts/record_reference.py (scripts/make_parity_fixtures.py):
/// a matching model passes every stage, one perturbed weight fails at the first stage downstream of it, and a
/// malformed bundle is an error naming the file and what is wrong.
final class ParityTests: XCTestCase {
    static let small = SAMFixtures.directory.appendingPathComponent("parity_sam_small")
    static let mobile = SAMFixtures.directory.appendingPathComponent("parity_mobilesam")

    /// The report of `model` on a bundle, from the bundle's own decoded pixels (the CLI decodes inputs/ itself).
    private func report(_ model: SAMModel, _ directory: URL, only: [String] = [], tolerance: Float = 1e-3) throws -> ParityReport {
        let bundle = try ParityBundle(directory: directory)
        let image = try XCTUnwrap(bundle.reference("image"))
        let outputs = try SAMParityStages.outputs(model: model, bundle: bundle, rgb: image.data.map { UInt8($0) },
                                                  width: image.shape[1], height: image.shape[0])
        return try ParityReport(bundle: bundle, model: "test", outputs: outputs, only: only, tolerance: tolerance)
    }

    /// Adds `delta` to every element of one tensor of `model`.
    private func perturb(_ model: SAMModel, _ name: String, by delta: Float) throws {
        var t = try XCTUnwrap(model.stateDict()[name], "no tensor \(name)").floatTensor
        for i in t.data.indices { t.data[i] += delta }
        var dict = StateDict()
        dict[name] = StoredTensor(t)
        _ = try model.load(dict, file: "perturbation", strict: false)
    }

    func testTheMatchingModelPassesEveryStage() throws {
        let r = try report(try SAMFixtures.model(), Self.small)
        XCTAssertTrue(r.passed, r.table)
        XCTAssertNil(r.firstFailure)
        XCTAssertEqual(r.stages.map(\.stage), ["image", "preprocess.input", "encoder.block.0", "encoder.block.1", "encoder.block.2",
                                               "encoder.block.3", "encoder.embedding", "prompt.sparse", "prompt.dense",
                                               "decoder.low_res_logits", "decoder.iou", "postprocess.masks"])
        for row in r.stages { XCTAssertLessThanOrEqual(row.maxRel!, 1e-5, "\(row.stage): the toolkit matches PyTorch closely") }
        XCTAssertEqual(r.stages.first { $0.stage == "postprocess.masks" }?.maskIoU, 1)
        XCTAssertNil(r.stages.first { $0.stage == "decoder.iou" }?.maskIoU, "IoU predictions are not masks")
        XCTAssertTrue(r.table.hasSuffix("PASS: 12 stages within max rel <= 0.001"), r.table)
    }

    func testOnePerturbedEncoderWeightFailsAtItsBlock() throws {
        let model = try SAMFixtures.model()
        try perturb(model, "image_encoder.blocks.1.mlp.lin2.bias", by: 0.05)
        let r = try report(model, Self.small)
        XCTAssertFalse(r.passed)
        XCTAssertEqual(r.firstFailure, "encoder.block.1", r.table)
        XCTAssertTrue(r.stages.prefix { $0.stage != "encoder.block.1" }.allSatisfy(\.passed), "the stages before it still pass")
        XCTAssertTrue(r.table.hasSuffix("first failing stage: encoder.block.1"), r.table)
    }

    func testOnePerturbedDecoderWeightFailsAtTheDecoder() throws {
        let model = try SAMFixtures.model()
        // Mask token 1: the bundle is multimask, which returns masks 1...3.
        try perturb(model, "mask_decoder.output_hypernetworks_mlps.1.layers.2.bias", by: 0.5)
        let r = try report(model, Self.small)
        XCTAssertEqual(r.firstFailure, "decoder.low_res_logits", r.table)
        // A stage selection compares the selected stages only: the encoder still passes.
        let encoder = try report(model, Self.small, only: ["encoder"])
        XCTAssertTrue(encoder.passed, encoder.table)
        XCTAssertEqual(encoder.stages.count, 5)
    }

    func testTheJSONReportNamesTheFirstFailure() throws {
        let model = try SAMFixtures.model()
        try perturb(model, "prompt_encoder.point_embeddings.1.weight", by: 0.2)
        let json = try JSONSerialization.jsonObject(with: try report(model, Self.small).json()) as! [String: Any]
        XCTAssertEqual(json["passed"] as? Bool, false)
        XCTAssertEqual(json["firstFailure"] as? String, "prompt.sparse")
        let stages = try XCTUnwrap(json["stages"] as? [[String: Any]])
        XCTAssertEqual(stages.count, 12)
        XCTAssertEqual(stages[0]["stage"] as? String, "image")
        XCTAssertNotNil(stages[0]["maxRel"] as? Double)
    }

    // MARK: malformed bundles

    /// A copy of the small bundle with `edit` applied to its manifest (a JSON object).
    private func editedBundle(_ edit: (inout [String: Any]) -> Void) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parity-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Self.small, to: dir)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("manifest.json")
        var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&manifest)
        try JSONSerialization.data(withJSONObject: manifest).write(to: url)
        return dir
    }

    private func assertError(_ directory: URL, _ kind: ToolkitError.Kind, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try report(try SAMFixtures.model(), directory), file: file, line: line) { error in
            guard let e = error as? ToolkitError else { return XCTFail("not a ToolkitError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
            XCTAssertTrue(e.description.contains(fragment), "\(e)", file: file, line: line)
            XCTAssertFalse(e.description.contains("\n"), "one line: \(e)", file: file, line: line)
        }
    }

    func testMalformedBundlesAreClearErrors() throws {
        let none = FileManager.default.temporaryDirectory.appendingPathComponent("no-bundle-\(UUID().uuidString)")
        assertError(none, .missingFile, "manifest.json: no bundle manifest")
        assertError(try editedBundle { $0["format"] = "something-else" }, .invalidFile, "format is 'something-else', expected 'ssmsam-parity-bundle'")
        assertError(try editedBundle { $0["version"] = 9 }, .unsupported, "bundle version 9")
        assertError(try editedBundle { $0.removeValue(forKey: "stages") }, .invalidFile, "missing key stages")
        assertError(try editedBundle { $0["kind"] = "unet" }, .invalidFile, "kind")
        assertError(try editedBundle { m in
            var stages = m["stages"] as! [[String: Any]]
            stages[3]["name"] = "encoder.block.9"
            m["stages"] = stages
        }, .invalidFile, "reference.safetensors: no tensor for stage encoder.block.9")
        assertError(try editedBundle { m in
            var stages = m["stages"] as! [[String: Any]]
            stages[6]["shape"] = [1, 32, 4, 4]
            m["stages"] = stages
        }, .mismatch, "stage encoder.embedding has shape [1, 32, 8, 8], the manifest says [1, 32, 4, 4]")
        assertError(try editedBundle { $0["tensors"] = "gone.safetensors" }, .missingFile, "gone.safetensors: the bundle's stage tensors are missing")
        assertError(try editedBundle { $0.removeValue(forKey: "prompts") }, .invalidFile, "a SAM bundle needs prompts")
        // A stage the toolkit does not compute, with a tensor present: named, with the known stages.
        let renamed = try editedBundle { _ in }
        var (tensors, _) = try SafeTensors.read(renamed.appendingPathComponent("reference.safetensors"))
        tensors["encoder.neck_only"] = tensors["encoder.embedding"]
        try SafeTensors.write(tensors, to: renamed.appendingPathComponent("reference.safetensors"))
        let url = renamed.appendingPathComponent("manifest.json")
        var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        manifest["stages"] = (manifest["stages"] as! [[String: Any]]) + [["name": "encoder.neck_only", "shape": [1, 32, 8, 8], "dtype": "float32", "mask": false]]
        try JSONSerialization.data(withJSONObject: manifest).write(to: url)
        assertError(renamed, .unsupported, "stage encoder.neck_only is not one the toolkit computes for SAM")
        // --stages naming nothing recorded.
        XCTAssertThrowsError(try report(try SAMFixtures.model(), Self.small, only: ["decoder.nope"])) {
            XCTAssertTrue("\($0)".contains("--stages decoder.nope matches no recorded stage"), "\($0)")
        }
    }

    // MARK: the real MobileSAM

    func testTheRealMobileSAMPassesAndAPerturbedPromptWeightFailsAtThePrompt() throws {
        let model = try MobileSAMFixtures.realModel()
        let r = try report(model, Self.mobile)
        XCTAssertTrue(r.passed, r.table)
        XCTAssertEqual(r.stages.map(\.stage), ["image", "prompt.sparse", "decoder.low_res_logits", "decoder.iou", "postprocess.masks"])
        try perturb(model, "prompt_encoder.point_embeddings.1.weight", by: 0.05)
        let bad = try report(model, Self.mobile)
        XCTAssertEqual(bad.firstFailure, "prompt.sparse", bad.table)
    }
}
