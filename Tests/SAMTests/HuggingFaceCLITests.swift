import Foundation
import TestSupport
import XCTest
import Formats
import SAM
import TensorCore

/// Hugging Face folders through the CLI as a user gives them (`--model DIR`, `convert`, `zoo add`, `inspect`,
/// `zoo export --hf`), `convert --names`, and `convert` never deleting or replacing a file it did not write.
final class HuggingFaceCLITests: XCTestCase {
    private var work: URL!
    private let single = HuggingFaceFolderTests.single, sharded = HuggingFaceFolderTests.sharded

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("hf-cli-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    private func run(_ args: [String]) throws -> (code: Int32, out: String, err: String) {
        try SSMSAMProcess.run(args, near: Bundle(for: Self.self))
    }

    private func path(_ name: String) -> String { work.appendingPathComponent(name).path }

    private func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    private var image: String {
        SAMFixtures.directory.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("ImagingTests/Fixtures/rgb.png").path
    }

    func testFoldersAreAcceptedWhereverACheckpointIs() throws {
        var r = try run(["inspect", sharded.path])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("tensors:     174"), r.out)
        var logits: [Tensor] = []
        for model in [single.path, sharded.path, single.path + "/model.safetensors"] {
            r = try run(["segment", "--model", model, "--image", image, "--point", "5,6", "--multimask", "--out", path("m.png"), "--logits", path("l.npy")])
            XCTAssertEqual(r.code, 0, "\(model): \(r.err)")
            logits.append(try Numpy.read(URL(fileURLWithPath: path("l.npy"))).floatTensor)
        }
        XCTAssertEqual(logits[0].shape, [1, 3, 32, 32])
        XCTAssertEqual(logits[0].data, logits[1].data, "sharded = single")
        XCTAssertEqual(logits[0].data, logits[2].data, "HF/model.safetensors takes the folder's config.json")
        r = try run(["encode", "--model", sharded.path, "--image", image, "--out", path("e.npy")])
        XCTAssertEqual(r.code, 0, r.err)
    }

    func testConvertRenamesBothWaysAndKeepsTheConfig() throws {
        var r = try run(["convert", sharded.path, path("official.safetensors"), "--names", "official"])
        XCTAssertEqual(r.code, 0, r.err)
        let official = try SafeTensors.read(URL(fileURLWithPath: path("official.safetensors"))).tensors
        XCTAssertFalse(HuggingFaceNames.applies(to: official))
        let config = try json(path("official.json"))
        XCTAssertEqual(config["format"] as? String, SAMModelStore.configFormat)
        XCTAssertEqual((config["decoder"] as? [String: Any])?["layerNormEps"] as? Double, 1e-6, "config.json's eps carried into the toolkit's config")
        XCTAssertEqual((config["decoder"] as? [String: Any])?["heads"] as? Int, 2)

        r = try run(["convert", path("official.safetensors"), path("back.safetensors"), "--names", "hf"])
        XCTAssertEqual(r.code, 0, r.err)
        let back = try SafeTensors.read(URL(fileURLWithPath: path("back.safetensors"))).tensors
        let original = try CheckpointReader.read(single).tensors
        XCTAssertEqual(Set(back.names), Set(original.names))
        for name in original.names { XCTAssertEqual(back[name], original[name], name) }
        XCTAssertEqual(try SAMModelStore.readConfig(URL(fileURLWithPath: path("back.json"))), try SAMModelStore.config(for: single))

        r = try run(["convert", sharded.path, path("x.safetensors"), "--names", "openai"])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("--names openai is not one of official, hf"), r.err)
        r = try run(["convert", SAMFixtures.directory.appendingPathComponent("mobilesam_small.safetensors").path, path("m.safetensors"), "--names", "hf"])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("TinyViT"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("m.safetensors")))
    }

    func testZooAddTakesFoldersAndTheirWeightFilesAndExportsForTransformers() throws {
        let registry = path("registry")
        for (i, source) in [single.path + "/model.safetensors", sharded.path].enumerated() {
            let r = try run(["zoo", "add", source, "--id", "test/hf-tiny", "--version", "1.0.\(i)", "--registry", registry])
            XCTAssertEqual(r.code, 0, "\(source): \(r.err)")
        }
        let r = try run(["zoo", "export", "test/hf-tiny@1.0.1", "--hf", path("export"), "--registry", registry])
        XCTAssertEqual(r.code, 0, r.err)
        // The weights under exactly the names save_pretrained wrote, the same values.
        let exported = try SafeTensors.read(URL(fileURLWithPath: path("export/model.safetensors"))).tensors
        let original = try CheckpointReader.read(single).tensors
        XCTAssertEqual(Set(exported.names), Set(original.names))
        for name in original.names { XCTAssertEqual(exported[name], original[name], name) }
        // config.json: every field save_pretrained wrote, with its value; provenance beside.
        let ours = try json(path("export/config.json")), theirs = try json(single.path + "/config.json")
        assertSameConfig(ours, theirs)
        XCTAssertEqual(ours["ssmsam_id"] as? String, "test/hf-tiny")
        let card = try String(contentsOfFile: path("export/README.md"), encoding: .utf8)
        XCTAssertTrue(card.hasPrefix("---\nlicense: other\nlibrary_name: ssmsam\n"), card)
        XCTAssertTrue(card.contains("SamModel.from_pretrained"), card)
        // And the toolkit reads its own export back.
        let again = try run(["segment", "--model", path("export"), "--image", image, "--point", "5,6", "--out", path("m.png")])
        XCTAssertEqual(again.code, 0, again.err)
    }

    // MARK: - convert never deletes or replaces a file it did not write

    private func nonSAMCheckpoint() throws -> String {
        var d = StateDict()
        d["layer.weight"] = StoredTensor(Tensor(shape: [2, 2], data: [1, 2, 3, 4]))
        let url = work.appendingPathComponent("plain.safetensors")
        try SafeTensors.write(d, to: url)
        return url.path
    }

    func testConvertLeavesAForeignJSONAlone() throws {
        let foreign = Data(#"{"labels": ["liver", "spleen"]}"#.utf8)
        try foreign.write(to: work.appendingPathComponent("out.json"))
        // Not a SAM checkpoint: nothing to write beside it, and out.json is not ours, so it stays.
        var r = try run(["convert", try nonSAMCheckpoint(), path("out.safetensors")])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(try Data(contentsOf: work.appendingPathComponent("out.json")), foreign)
        XCTAssertTrue(r.err.contains("left \(path("out.json")) untouched"), r.err)
        // A SAM checkpoint would replace it: refused before anything is written, naming the file.
        r = try run(["convert", sharded.path, path("sam.safetensors")])
        XCTAssertEqual(r.code, 0, r.err)
        try foreign.write(to: work.appendingPathComponent("sam2.json"))
        r = try run(["convert", sharded.path, path("sam2.safetensors")])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.hasPrefix("error: ") && r.err.contains(path("sam2.json")) && r.err.contains("not a config ssmsam wrote"), r.err)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("sam2.safetensors")))
        XCTAssertEqual(try Data(contentsOf: work.appendingPathComponent("sam2.json")), foreign)
    }

    func testConvertReplacesOrRemovesOnlyItsOwnConfig() throws {
        // Its own (marked) config, stale after converting other weights to the same name: removed.
        XCTAssertEqual(try run(["convert", sharded.path, path("out.safetensors")]).code, 0)
        XCTAssertTrue(SAMModelStore.isToolkitConfig(work.appendingPathComponent("out.json")))
        var r = try run(["convert", try nonSAMCheckpoint(), path("out.safetensors")])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.json")), r.err)
        // A config written before the marker existed is the toolkit's too: replaced, now marked.
        let config = try XCTUnwrap(SAMModelStore.config(for: single))
        try JSONEncoder().encode(config).write(to: work.appendingPathComponent("old.json"))
        r = try run(["convert", sharded.path, path("old.safetensors")])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(try json(path("old.json"))["format"] as? String, SAMModelStore.configFormat)
    }
}
