import Foundation
import XCTest
import Diagnostics
import Formats
import SAM
import TensorCore
import TestSupport

/// Hugging Face `save_pretrained` folders of a tiny random transformers SamModel and SamModel's own outputs
/// (scripts/make_hf_folder_fixtures.py): folders and their config.json read as checkpoints, names and configs
/// translated both ways.
final class HuggingFaceFolderTests: XCTestCase {
    static let single = SAMFixtures.directory.appendingPathComponent("hf_tiny")
    static let sharded = SAMFixtures.directory.appendingPathComponent("hf_tiny_sharded")

    private func outputs() throws -> (tensors: [String: Tensor], cases: [String: [String: Any]]) {
        let (dict, meta) = try SAMFixtures.file("hf_tiny_outputs.safetensors")
        var t: [String: Tensor] = [:]
        for (k, v) in dict.entries { t[k] = v.floatTensor }
        return (t, try JSONSerialization.jsonObject(with: Data(meta["cases"]!.utf8)) as! [String: [String: Any]])
    }

    /// Every prompt case of the fixture through `model`, against SamModel's masks and IoU.
    private func assertMatchesTransformers(_ model: SAMModel, tolerance: Float = 1e-4, _ what: String) throws {
        let (ref, cases) = try outputs()
        let embedding = model.encode(ref["pixel_values"]!).embedding
        assertParity(embedding, ref["embedding"], what + ": image embedding")
        for (name, c) in cases.sorted(by: { $0.key < $1.key }) {
            let points = (c["points"] as! [[NSNumber]]).map { PromptPoint(x: $0[0].floatValue, y: $0[1].floatValue, label: $0[2].intValue) }
            let box = (c["box"] as? [NSNumber]).map { PromptBox(x0: $0[0].floatValue, y0: $0[1].floatValue, x1: $0[2].floatValue, y1: $0[3].floatValue) }
            let out = model.predict(embedding: ref["embedding"]!, points: points, box: box, multimask: c["multimask"] as! Bool)
            assertParity(out.lowResLogits, ref["\(name).masks"], tolerance: tolerance, "\(what): \(name) masks")
            assertParity(out.iou, ref["\(name).iou"].map { $0.reshaped([1, -1]) }, tolerance: tolerance, "\(what): \(name) IoU")
        }
    }

    func testFolderLoadsWithItsConfigAndComputesWhatSamModelComputes() throws {
        for folder in [Self.single, Self.sharded] {
            let model = try SAMModelStore.load(folder.path)
            XCTAssertEqual(model.config.decoder.layerNormEps, 1e-6, "transformers' mask decoder eps, from config.json")
            XCTAssertEqual(model.maskDecoder.transformer.layers[0].norm2.eps, 1e-6)
            XCTAssertEqual(model.maskDecoder.transformer.finalNorm.eps, 1e-5, "the final norm keeps 1e-5 in both")
            XCTAssertEqual(model.config.encoder.patchSize, 8)
            XCTAssertEqual(model.config.decoder.heads, 2, "heads come from config.json (shapes cannot tell them)")
            try assertMatchesTransformers(model, folder.lastPathComponent)
        }
    }

    /// The eps the config names matters: the official 1e-5 on these weights misses SamModel's masks.
    func testTheDecoderEpsIsHonoured() throws {
        var config = try XCTUnwrap(SAMModelStore.config(for: Self.single))
        config.decoder.layerNormEps = 1e-5
        let (dict, _) = try SafeTensors.read(Self.single.appendingPathComponent("model.safetensors"))
        let wrong = try SAMModel(dict, file: "hf_tiny", config: config)
        let (ref, _) = try outputs()
        let out = wrong.predict(embedding: ref["embedding"]!, points: [PromptPoint(x: 10.5, y: 20.25), PromptPoint(x: 40, y: 30, label: 0)], multimask: true)
        let expected = ref["points.masks"]!
        let err = zip(out.lowResLogits.data, expected.data).map { abs($0 - $1) }.max()!
        XCTAssertGreaterThan(err, 1e-4 * expected.maxAbs, "eps 1e-5 should move the masks measurably")
    }

    func testShardsMergeToTheSingleFile() throws {
        let a = try CheckpointReader.read(Self.single), b = try CheckpointReader.read(Self.sharded)
        XCTAssertEqual(a.tensors.count, 174)
        XCTAssertEqual(Set(a.tensors.names), Set(b.tensors.names))
        for name in a.tensors.names { XCTAssertEqual(a.tensors[name], b.tensors[name], name) }
        XCTAssertEqual(try HuggingFaceFolder.weightFiles(in: Self.sharded).map(\.lastPathComponent),
                       ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"])
    }

    /// `HF/model.safetensors` (and a shard) takes the folder's config.json; a model is detected from SamModel names.
    func testAWeightFileOfAFolderUsesItsConfig() throws {
        let folderConfig = try SAMModelStore.config(for: Self.single)
        XCTAssertEqual(try SAMModelStore.config(for: Self.single.appendingPathComponent("model.safetensors")), folderConfig)
        XCTAssertEqual(try SAMModelStore.config(for: Self.sharded.appendingPathComponent("model-00002-of-00003.safetensors")), folderConfig)
        // Without config.json: SamModel names are detected, with transformers' decoder eps.
        let (dict, _) = try SafeTensors.read(Self.single.appendingPathComponent("model.safetensors"))
        let detected = try SAMConfig.detect(from: dict, file: "model.safetensors", decoderHeads: 2)
        XCTAssertEqual(detected, folderConfig)
    }

    func testBrokenFoldersAreRefusedNamingTheFile() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("hf-broken-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: work) }
        let fm = FileManager.default
        try fm.copyItem(at: Self.sharded, to: work)
        try fm.removeItem(at: work.appendingPathComponent("model-00002-of-00003.safetensors"))
        assertThrows(["model-00002-of-00003.safetensors", "a shard named by model.safetensors.index.json is missing"]) { _ = try CheckpointReader.read(work) }
        // A shard holding a tensor the index places elsewhere.
        try fm.copyItem(at: Self.sharded.appendingPathComponent("model-00003-of-00003.safetensors"), to: work.appendingPathComponent("model-00002-of-00003.safetensors"))
        assertThrows(["model-00002-of-00003.safetensors: tensor", "is here, the index names model-00003-of-00003.safetensors"]) { _ = try CheckpointReader.read(work) }
        // An index naming a file outside the folder.
        try Data(#"{"weight_map": {"a": "../x.safetensors"}}"#.utf8).write(to: work.appendingPathComponent("model.safetensors.index.json"))
        assertThrows(["model.safetensors.index.json", "not a plain file name"]) { _ = try CheckpointReader.read(work) }
        // No weights at all.
        let empty = work.appendingPathComponent("empty")
        try fm.createDirectory(at: empty, withIntermediateDirectories: true)
        assertThrows(["empty", "not a Hugging Face model folder"]) { _ = try CheckpointReader.read(empty) }
    }

    // MARK: - Names

    func testNamesBothWaysWithOneTable() throws {
        let (hf, _) = try SafeTensors.read(Self.single.appendingPathComponent("model.safetensors"))
        let official = HuggingFaceNames.toOfficial(hf)
        XCTAssertFalse(HuggingFaceNames.applies(to: official))
        XCTAssertEqual(official.count, hf.count)
        XCTAssertNotNil(official["prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"])
        XCTAssertNotNil(official["mask_decoder.iou_prediction_head.layers.2.weight"])
        let back = try HuggingFaceNames.toHuggingFace(official, file: "x")
        XCTAssertEqual(Set(back.names), Set(hf.names), "official -> SamModel gives exactly save_pretrained's names")
        for name in hf.names { XCTAssertEqual(back[name], hf[name], name) }
        // The official small SAM's names, there and back.
        let (small, _) = try SAMFixtures.file("sam_small.safetensors")
        let there = try HuggingFaceNames.toHuggingFace(small, file: "sam_small")
        XCTAssertEqual(Set(HuggingFaceNames.toOfficial(there).names), Set(small.names))
        for name in small.names { XCTAssertEqual(HuggingFaceNames.officialName(HuggingFaceNames.huggingFaceName(name)), name) }
        XCTAssertEqual(HuggingFaceNames.huggingFaceName("mask_decoder.output_hypernetworks_mlps.3.layers.1.bias"), "mask_decoder.output_hypernetworks_mlps.3.layers.0.bias")
        XCTAssertEqual(HuggingFaceNames.huggingFaceName("image_encoder.blocks.11.norm2.weight"), "vision_encoder.layers.11.layer_norm2.weight")
    }

    /// An IoU head of another depth: the last layer is `proj_out` whatever its index.
    func testMLPHeadsOfAnyDepth() throws {
        var dict = StateDict()
        for k in 0..<4 { dict["mask_decoder.iou_prediction_head.layers.\(k).weight"] = StoredTensor(Tensor.zeros([1])) }
        dict["image_encoder.pos_embed"] = StoredTensor(Tensor.zeros([1]))
        let hf = try HuggingFaceNames.toHuggingFace(dict, file: "x")
        XCTAssertEqual(Set(hf.names), ["mask_decoder.iou_prediction_head.proj_in.weight", "mask_decoder.iou_prediction_head.layers.0.weight",
                                       "mask_decoder.iou_prediction_head.layers.1.weight", "mask_decoder.iou_prediction_head.proj_out.weight",
                                       "vision_encoder.pos_embed"])
        XCTAssertEqual(Set(HuggingFaceNames.toOfficial(hf).names), Set(dict.names))
    }

    func testTinyViTHasNoSamModelNames() throws {
        let (mobile, _) = try SAMFixtures.file("mobilesam_small.safetensors")
        assertThrows(["TinyViT", "no transformers SamModel names"]) { _ = try HuggingFaceNames.toHuggingFace(mobile, file: "mobilesam_small") }
    }

    // MARK: - Configs

    /// The config written for an architecture is the one save_pretrained wrote, field for field.
    func testConfigIsWhatSavePretrainedWrites() throws {
        let config = try XCTUnwrap(SAMModelStore.config(for: Self.single))
        let ours = try JSONSerialization.jsonObject(with: HuggingFaceConfig.pythonFloats(JSONEncoder().encode(HuggingFaceConfig(config, file: "x")))) as! [String: Any]
        let theirs = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.single.appendingPathComponent("config.json"))) as! [String: Any]
        assertSameConfig(ours, theirs)
        XCTAssertEqual(Set(ours.keys), Set(theirs.keys).subtracting(["transformers_version"]))
        XCTAssertTrue(String(decoding: HuggingFaceConfig.pythonFloats(try JSONEncoder().encode(HuggingFaceConfig(config, file: "x"))), as: UTF8.self)
            .contains(#""mlp_ratio":2.0"#), "mlp_ratio as a Python float")
    }

    func testPresetsTranslateBothWays() throws {
        for name in ["vit_b", "vit_l", "vit_h"] {
            let preset = try XCTUnwrap(SAMConfig.preset(name))
            let hf = try HuggingFaceConfig(preset, file: name)
            XCTAssertEqual(hf.vision_config?.hidden_size, preset.encoder.embedDim)
            XCTAssertEqual(hf.vision_config?.global_attn_indexes, preset.encoder.globalAttentionBlocks)
            XCTAssertEqual(hf.mask_decoder_config?.layer_norm_eps, 1e-5, "the official decoder eps travels with the weights")
            XCTAssertEqual(try hf.samConfig(file: name), preset, name)
        }
        let l = try HuggingFaceConfig(SAMConfig.preset("vit_l")!, file: "vit_l").vision_config!
        XCTAssertEqual([l.hidden_size, l.num_hidden_layers, l.num_attention_heads, l.mlp_dim, l.num_pos_feats], [1024, 24, 16, 4096, 128])
        assertThrows(["TinyViT", "no transformers SamModel equivalent"]) { _ = try HuggingFaceConfig(SAMConfig.preset("mobile_sam")!, file: "mobile_sam") }
        // transformers' defaults (an empty SamConfig): vit_b's shapes, transformers' eps.
        let defaults = try HuggingFaceConfig.read(Data(#"{"model_type": "sam"}"#.utf8), file: "c.json").samConfig(file: "c.json")
        XCTAssertEqual(defaults.encoder, { var e = SAMConfig.preset("vit_b")!.encoder; e.layerNormEps = 1e-6; return e }())
        XCTAssertEqual(defaults.decoder.layerNormEps, 1e-6)
        XCTAssertEqual(defaults.preset, "vit_b")
    }

    func testUnsupportedConfigsAreRefusedNamingTheField() throws {
        assertThrows(["c.json", "model_type is 'sam2'"]) { _ = try HuggingFaceConfig.read(Data(#"{"model_type": "sam2"}"#.utf8), file: "c.json") }
        assertThrows(["c.json", "vision_config.use_rel_pos is false"]) {
            _ = try HuggingFaceConfig.read(Data(#"{"model_type": "sam", "vision_config": {"use_rel_pos": false}}"#.utf8), file: "c.json").samConfig(file: "c.json")
        }
        assertThrows(["c.json", "mask_decoder_config.hidden_size is 128"]) {
            _ = try HuggingFaceConfig.read(Data(#"{"model_type": "sam", "mask_decoder_config": {"hidden_size": 128}}"#.utf8), file: "c.json").samConfig(file: "c.json")
        }
    }

    /// Config files: the marker is written; files from before the eps fields and the marker still decode.
    func testToolkitConfigsAreMarkedAndOldOnesStillRead() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let new = work.appendingPathComponent("new.json"), old = work.appendingPathComponent("old.json"), other = work.appendingPathComponent("other.json")
        let config = try SAMFixtures.model().config
        try SAMModelStore.writeConfig(config, to: new)
        let written = try JSONSerialization.jsonObject(with: Data(contentsOf: new)) as! [String: Any]
        XCTAssertEqual(written["format"] as? String, SAMModelStore.configFormat)
        XCTAssertEqual(try SAMModelStore.readConfig(new), config)
        // Written before the marker and the eps fields existed.
        var legacy = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as! [String: Any]
        for part in ["encoder", "decoder"] {
            var p = legacy[part] as! [String: Any]
            p["layerNormEps"] = nil
            legacy[part] = p
        }
        try JSONSerialization.data(withJSONObject: legacy).write(to: old)
        XCTAssertEqual(try SAMModelStore.readConfig(old), config)
        XCTAssertTrue(SAMModelStore.isToolkitConfig(new))
        XCTAssertTrue(SAMModelStore.isToolkitConfig(old))
        for foreign in [#"{"labels": [1, 2]}"#, #"{"model_type": "sam"}"#, #"{"format": "something-else"}"#, "not json"] {
            try Data(foreign.utf8).write(to: other)
            XCTAssertFalse(SAMModelStore.isToolkitConfig(other), foreign)
        }
        try Data(#"{"format": "ssmsam-sam-config/9"}"#.utf8).write(to: other)
        assertThrows(["other.json", "format 'ssmsam-sam-config/9'"]) { _ = try SAMModelStore.readConfig(other) }
    }
}

/// A transformers config written by the toolkit has every field of one save_pretrained wrote, with its value;
/// `mlp_ratio`, which transformers ignores when `mlp_dim` is given, is the true ratio.
func assertSameConfig(_ ours: [String: Any], _ theirs: [String: Any], file: StaticString = #filePath, line: UInt = #line) {
    for (key, value) in theirs where key != "transformers_version" {
        guard var sub = value as? [String: Any] else {
            XCTAssertEqual(ours[key] as? NSObject, value as? NSObject, key, file: file, line: line)
            continue
        }
        if let dim = sub["mlp_dim"] as? Double, let hidden = sub["hidden_size"] as? Double, sub["mlp_ratio"] != nil { sub["mlp_ratio"] = dim / hidden }
        XCTAssertEqual(ours[key] as? NSDictionary, sub as NSDictionary, key, file: file, line: line)
    }
}
