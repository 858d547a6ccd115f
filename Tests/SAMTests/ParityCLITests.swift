import Formats
import Foundation
import SAM
import TensorCore
import TestSupport
import XCTest

/// `ssmsam parity` as a CI pipeline runs it: exit 0 and the table (or JSON) on a match, exit 1 naming the
/// first failing stage on a mismatch, exit 1 and one line on stderr for a malformed bundle.
final class ParityCLITests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("parity-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        // The small fixture model in the native layout (weights + config JSON), and a copy with one weight changed.
        let model = try SAMFixtures.model()
        let config = try JSONEncoder().encode(model.config)
        let (weights, _) = try SAMFixtures.file("sam_small.safetensors")
        var perturbed = weights
        var t = weights["mask_decoder.iou_prediction_head.layers.2.bias"]!.floatTensor
        for i in t.data.indices { t.data[i] += 0.5 }  // every mask's IoU (multimask drops the first)
        perturbed["mask_decoder.iou_prediction_head.layers.2.bias"] = StoredTensor(t)
        for (name, dict) in [("small", weights), ("perturbed", perturbed)] {
            try SafeTensors.write(dict, to: work.appendingPathComponent("\(name).safetensors"))
            try config.write(to: work.appendingPathComponent("\(name).json"))
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    private func run(_ args: [String]) throws -> (code: Int32, out: String, err: String) {
        try SSMSAMProcess.run(["parity", "--reference", ParityTests.small.path] + args, near: Bundle(for: Self.self))
    }

    private func model(_ name: String) -> String { work.appendingPathComponent("\(name).safetensors").path }

    func testAMatchPassesWithExitZero() throws {
        let r = try run(["--model", model("small")])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("postprocess.masks"), r.out)
        XCTAssertTrue(r.out.hasSuffix("PASS: 12 stages within max rel <= 0.001\n"), r.out)
    }

    func testAMismatchExitsOneAndNamesTheFirstFailingStage() throws {
        let r = try run(["--model", model("perturbed")])
        XCTAssertEqual(r.code, 1, r.out + r.err)
        XCTAssertTrue(r.out.contains("first failing stage: decoder.iou"), r.out)
        let json = try run(["--model", model("perturbed"), "--json"])
        XCTAssertEqual(json.code, 1)
        let report = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as! [String: Any]
        XCTAssertEqual(report["firstFailure"] as? String, "decoder.iou")
        XCTAssertEqual(report["passed"] as? Bool, false)
        // Only the stages before it selected: they pass.
        let before = try run(["--model", model("perturbed"), "--stages", "image,preprocess,encoder,prompt,decoder.low_res_logits"])
        XCTAssertEqual(before.code, 0, before.out)
    }

    func testAMalformedBundleIsOneLineOnStderr() throws {
        let r = try SSMSAMProcess.run(["parity", "--model", model("small"), "--reference", work.path], near: Bundle(for: Self.self))
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "error: \(work.appendingPathComponent("manifest.json").path): no bundle manifest: record one with scripts/record_reference.py\n")
        let typo = try run(["--model", model("small"), "--stages", "encodr"])
        XCTAssertEqual(typo.code, 1)
        XCTAssertTrue(typo.err.contains("--stages encodr matches no recorded stage"), typo.err)
    }
}
