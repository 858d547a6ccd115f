import Foundation
import XCTest
import TestSupport
import Formats
import SAM
import Zoo

/// add -> pack -> install into a fresh registry -> verify --numbers, for a base and a delta; export.
final class RoundTripTests: XCTestCase {
    func testBaseAddPackInstallVerifyNumbers() throws {
        let work = try ZooFixtures.temporaryDirectory(self)
        let built = try ZooFixtures.buildBase(in: work)
        let tar = try ZooFixtures.pack(built)
        let registry = Registry(root: work.appendingPathComponent("registry"))
        XCTAssertEqual(try registry.list(), [])

        guard case .installed(let entry) = try registry.install(from: tar) else { return XCTFail("not installed") }
        XCTAssertEqual(entry.reference, "test/sam-small-random@1.0.0")
        XCTAssertEqual(try registry.list().map(\.reference), ["test/sam-small-random@1.0.0"])

        let report = try registry.verify(try ModelReference(parsing: "test/sam-small-random@1.0.0"), numbers: true)
        XCTAssert(report.ok, report.summary)
        XCTAssert(report.passed.contains { $0.hasPrefix("numbers: golden outputs reproduced") }, "\(report.passed)")

        // The installed files are the built ones, byte for byte.
        let installed = try registry.package(try ModelReference(parsing: ZooFixtures.baseID))
        XCTAssertEqual(try ZooFixtures.snapshot(installed.directory), try ZooFixtures.snapshot(built))
        // The installed model is the fixture model.
        let model = try registry.model(try ModelReference(parsing: "test/sam-small-random@1.0.0"))
        XCTAssertEqual(model.config, ZooFixtures.config)

        // Installing the same package again changes nothing.
        let before = try ZooFixtures.snapshot(registry.root)
        XCTAssertEqual(try registry.install(from: tar), .alreadyInstalled(entry))
        XCTAssertEqual(try ZooFixtures.snapshot(registry.root), before)
    }

    func testDeltaOnBase() throws {
        let work = try ZooFixtures.temporaryDirectory(self)
        let registry = Registry(root: work.appendingPathComponent("registry"))
        try registry.install(from: try ZooFixtures.buildBase(in: work))
        let base = try registry.package(try ModelReference(parsing: ZooFixtures.baseID))
        let delta = try ZooFixtures.buildDelta(in: work, base: base)
        let m = try ZooPackage.read(delta).manifest
        XCTAssertEqual(m.kind, .delta)
        XCTAssertEqual(m.weights.tensors, 1)
        XCTAssertEqual(m.weights.replaces, 1)
        XCTAssertEqual(m.base?.sha256, base.manifest.file(PackageLayout.weights)?.sha256)

        try registry.install(from: try ZooFixtures.pack(delta), numbers: true)
        let report = try registry.verify(try ModelReference(parsing: "ssm-sam/small/liver"), numbers: true)
        XCTAssert(report.ok, report.summary)
        XCTAssert(report.passed.contains { $0.hasPrefix("base: test/sam-small-random@1.0.0 present") })

        // The delta's golden IoU differs from the base's: the numbers really came from base + delta.
        let baseIoU = try base.golden().iou.floatTensor, deltaIoU = try ZooPackage.read(delta).golden().iou.floatTensor
        XCTAssertNotEqual(baseIoU.data, deltaIoU.data)

        // A base that a delta names cannot be removed first; the delta then the base can.
        assertThrows(["is the base of ssm-sam/small/liver@0.1.0"]) { try registry.remove(try ModelReference(parsing: "test/sam-small-random@1.0.0")) }
        try registry.remove(try ModelReference(parsing: "ssm-sam/small/liver@0.1.0"))
        try registry.remove(try ModelReference(parsing: "test/sam-small-random@1.0.0"))
        XCTAssertEqual(try registry.list(), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: registry.root.appendingPathComponent("packages").path), [])
    }

    func testHuggingFaceExportMergesTheDelta() throws {
        let work = try ZooFixtures.temporaryDirectory(self)
        let registry = Registry(root: work.appendingPathComponent("registry"))
        try registry.install(from: try ZooFixtures.buildBase(in: work))
        let base = try registry.package(try ModelReference(parsing: ZooFixtures.baseID))
        try registry.install(from: try ZooFixtures.buildDelta(in: work, base: base))
        let p = try registry.package(try ModelReference(parsing: "ssm-sam/small/liver@0.1.0"))
        let out = work.appendingPathComponent("hf")
        try HFExport.export(p, base: base, to: out)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted(), ["README.md", "config.json", "model.safetensors"])
        let readme = try String(contentsOf: out.appendingPathComponent("README.md"), encoding: .utf8)
        XCTAssert(readme.hasPrefix("---\nlicense: apache-2.0\nlibrary_name: ssmsam\n"), readme)
        XCTAssert(readme.contains("base_model: \"test/sam-small-random\""))
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("config.json"))) as! [String: Any]
        XCTAssertEqual(config["ssmsam_id"] as? String, "ssm-sam/small/liver")
        // transformers' SamConfig, complete: the sub-configs with this architecture's values.
        XCTAssertEqual(config["model_type"] as? String, "sam")
        XCTAssertEqual(config["architectures"] as? [String], ["SamModel"])
        let vision = config["vision_config"] as! [String: Any], decoder = config["mask_decoder_config"] as! [String: Any]
        XCTAssertEqual(vision["hidden_size"] as? Int, 64)
        XCTAssertEqual(vision["global_attn_indexes"] as? [Int], [1, 3])
        XCTAssertEqual(vision["num_pos_feats"] as? Int, 16)
        XCTAssertEqual(decoder["num_attention_heads"] as? Int, 4)
        XCTAssertEqual(decoder["layer_norm_eps"] as? Double, 1e-5, "segment_anything's decoder eps, which these weights were made with")
        XCTAssertEqual((config["prompt_encoder_config"] as! [String: Any])["image_embedding_size"] as? Int, 8)
        // The merged weights are the tuned checkpoint, tensor for tensor, under SamModel's names.
        let merged = try SafeTensors.read(out.appendingPathComponent("model.safetensors")).tensors
        let tuned = try SafeTensors.read(work.appendingPathComponent("tuned.safetensors")).tensors
        XCTAssertTrue(merged.names.allSatisfy { !$0.hasPrefix("image_encoder.") })
        XCTAssertNotNil(merged["vision_encoder.layers.0.layer_norm1.weight"])
        XCTAssertNotNil(merged["shared_image_embedding.positional_embedding"])
        let official = HuggingFaceNames.toOfficial(merged)
        XCTAssertEqual(official.count, tuned.count)
        for (name, t) in tuned.entries { XCTAssertEqual(official[name], t, name) }
        // The toolkit reads the folder back with its config.json.
        XCTAssertEqual(try SAMModelStore.config(for: out), ZooFixtures.config)
        // A second export into the now non-empty folder is refused.
        assertThrows(["already exists and is not empty"]) { try HFExport.export(p, base: base, to: out) }
    }

    /// MobileSAM's TinyViT has no SamModel equivalent: the folder is in the toolkit's own format, and says so.
    func testTinyViTExportsInTheToolkitsOwnFormat() throws {
        let work = try ZooFixtures.temporaryDirectory(self)
        let checkpoint = ZooFixtures.repo.appendingPathComponent("Tests/SAMTests/Fixtures/mobilesam_small.safetensors")
        let (weights, meta) = try SafeTensors.read(checkpoint)
        let json = try JSONSerialization.jsonObject(with: Data(meta["config"]!.utf8)) as! [String: Any]
        var r = PackageRequest(checkpoint: checkpoint, id: "test/mobilesam-small", version: "1.0.0")
        r.config = try SAMConfig.detect(from: weights, file: "mobilesam_small", decoderHeads: (json["decoder_heads"] as! NSNumber).intValue)
        r.config?.encoder.imageSize = (json["image_size"] as! NSNumber).intValue
        try PackageBuilder.build(r, into: work.appendingPathComponent("p"), toolkitVersion: "test")
        let p = try ZooPackage.read(work.appendingPathComponent("p"))
        let out = work.appendingPathComponent("hf")
        try HFExport.export(p, base: nil, to: out)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("config.json"))) as! [String: Any]
        XCTAssertNil(config["model_type"], "no model_type: transformers refuses the folder instead of filling random weights")
        XCTAssertEqual(config["format"] as? String, SAMModelStore.configFormat)
        XCTAssertEqual(try SAMModelStore.config(for: out), r.config)
        let exported = try SafeTensors.read(out.appendingPathComponent("model.safetensors")).tensors
        XCTAssertEqual(Set(exported.names), Set(weights.names), "official names")
        let card = try String(contentsOf: out.appendingPathComponent("README.md"), encoding: .utf8)
        XCTAssertTrue(card.hasPrefix("---\nlicense: other\nlibrary_name: ssmsam\n"), card)
        XCTAssertTrue(card.contains("no transformers `SamModel` equivalent"), card)
    }

    func testCardComesFromTheManifest() throws {
        let work = try ZooFixtures.temporaryDirectory(self)
        let p = try ZooPackage.read(try ZooFixtures.buildBase(in: work))
        let card = try String(contentsOf: p.url(PackageLayout.card), encoding: .utf8)
        XCTAssertEqual(card, ModelCard.markdown(p.manifest.withoutFiles))
        for s in ["# test/sam-small-random 1.0.0", "## How it was made", "## Metrics", "## How to use", "## License", "apache-2.0"] {
            XCTAssert(card.contains(s), s)
        }
    }
}

extension Manifest {
    var withoutFiles: Manifest { var m = self; m.files = []; return m }
}
