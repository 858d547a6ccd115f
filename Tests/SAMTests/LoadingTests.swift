import XCTest
import Diagnostics
import Formats
import SAM
import TensorCore

/// A checkpoint that does not fit the model fails with one error naming every problem.
final class LoadingTests: XCTestCase {
    func testReportsMissingUnexpectedAndMisshapedTogether() throws {
        var (weights, _) = try SAMFixtures.file("sam_small.safetensors")
        let config = try SAMFixtures.model().config
        weights["mask_decoder.iou_token.weight"] = nil
        weights["image_encoder.blocks.0.norm1.bias"] = StoredTensor(Tensor.zeros([65]))
        weights["image_encoder.extra.weight"] = StoredTensor(Tensor.zeros([2]))
        XCTAssertThrowsError(try SAMModel(weights, file: "broken.safetensors", config: config)) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains("broken.safetensors"), m)
            XCTAssertTrue(m.contains("missing 1: mask_decoder.iou_token.weight [1, 32]"), m)
            XCTAssertTrue(m.contains("image_encoder.blocks.0.norm1.bias: expected [64], found [65]"), m)
            XCTAssertTrue(m.contains("unexpected 1: image_encoder.extra.weight"), m)
        }
    }

    func testRefusesACheckpointThatIsNotSAM() {
        var dict = StateDict()
        dict["fc.weight"] = StoredTensor(Tensor.zeros([2, 2]))
        XCTAssertThrowsError(try SAMModel(dict, file: "resnet.pth")) { e in
            XCTAssertEqual((e as? ToolkitError)?.kind, .mismatch, "\(e)")
            XCTAssertTrue("\(e)".contains("not a SAM checkpoint"), "\(e)")
        }
    }

    /// Settings that shapes cannot show (heads) or a config file can get wrong are checked before the model
    /// is built: an error naming the file, not a failed precondition.
    func testRefusesAnArchitectureThatCannotBeBuilt() throws {
        let (weights, _) = try SAMFixtures.file("sam_small.safetensors")
        var config = try SAMFixtures.model().config
        config.decoder.heads = 3
        config.encoder.windowSize = 0
        XCTAssertThrowsError(try SAMModel(weights, file: "small.safetensors", config: config)) { e in
            XCTAssertEqual((e as? ToolkitError)?.kind, .invalidFile, "\(e)")
            let m = "\(e)"
            XCTAssertTrue(m.hasPrefix("small.safetensors: not a usable SAM architecture: "), m)
            XCTAssertTrue(m.contains("decoder.promptDim 32 does not split into 3 heads (downsample 2)"), m)
            XCTAssertTrue(m.contains("encoder.windowSize is 0, expected a positive size"), m)
        }
        XCTAssertEqual(try SAMFixtures.model().config.problems, [])
        for name in SAMConfig.presetNames { XCTAssertEqual(SAMConfig.preset(name)!.problems, [], name) }
    }

    /// A hostile checkpoint's tensors of too few dimensions, or of zero size, are errors during detection.
    func testDetectionRefusesDegenerateShapes() throws {
        var (weights, _) = try SAMFixtures.file("sam_small.safetensors")
        weights["image_encoder.patch_embed.proj.weight"] = StoredTensor(Tensor.zeros([64]))
        XCTAssertThrowsError(try SAMModel(weights, file: "flat.safetensors")) { e in
            XCTAssertEqual((e as? ToolkitError)?.kind, .mismatch, "\(e)")
            XCTAssertTrue("\(e)".contains("'image_encoder.patch_embed.proj.weight' has shape [64], expected at least 3 dimensions"), "\(e)")
        }
        (weights, _) = try SAMFixtures.file("sam_small.safetensors")
        weights["mask_decoder.transformer.layers.0.cross_attn_token_to_image.q_proj.weight"] = StoredTensor(Tensor.zeros([0, 32]))
        XCTAssertThrowsError(try SAMModel(weights, file: "zero.safetensors")) { e in
            XCTAssertTrue("\(e)".contains("decoder.attentionDownsample is 0, expected a positive size"), "\(e)")
        }
    }

    func testPresetsAreDetected() throws {
        // A vit_b-shaped state dict (zeros; shapes are what detection reads).
        let c = SAMConfig.preset("vit_b")!
        var dict = StateDict()
        let d = 768
        dict["image_encoder.patch_embed.proj.weight"] = StoredTensor(dtype: .f32, shape: [d, 3, 16, 16], bytes: Data(count: d * 3 * 256 * 4))
        dict["image_encoder.pos_embed"] = StoredTensor(dtype: .f32, shape: [1, 64, 64, d], bytes: Data(count: 64 * 64 * d * 4))
        for i in 0..<12 {
            dict["image_encoder.blocks.\(i).norm1.weight"] = StoredTensor(Tensor.zeros([d]))
            let len = c.encoder.globalAttentionBlocks.contains(i) ? 127 : 27
            dict["image_encoder.blocks.\(i).attn.rel_pos_h"] = StoredTensor(Tensor.zeros([len, 64]))
        }
        dict["image_encoder.blocks.0.mlp.lin1.weight"] = StoredTensor(dtype: .f32, shape: [3072, d], bytes: Data(count: 3072 * d * 4))
        dict["image_encoder.neck.0.weight"] = StoredTensor(Tensor.zeros([256, d, 1, 1]))
        SAMFixtures.addOfficialDecoderShapes(to: &dict)
        let detected = try SAMConfig.detect(from: dict, file: "vit_b.pth")
        XCTAssertEqual(detected.preset, "vit_b")
        XCTAssertEqual(detected.encoder, c.encoder)
    }
}

import Foundation

/// Checkpoints in Hugging Face `transformers` SamModel names (fixture: scripts/make_hf_fixture.py).
final class HuggingFaceNameTests: XCTestCase {
    func testSamModelNamesLoadAndComputeTheSame() throws {
        let (hf, _) = try SAMFixtures.file("sam_small_hf.safetensors")
        XCTAssertTrue(HuggingFaceNames.applies(to: hf))
        let (official, _) = try SAMFixtures.file("sam_small.safetensors")
        let renamed = HuggingFaceNames.toOfficial(hf)
        XCTAssertEqual(Set(renamed.names), Set(official.names), "every SamModel name maps to an official one")
        for name in official.names { XCTAssertEqual(renamed[name], official[name], name) }
        let config = try SAMFixtures.model().config
        let model = try SAMModel(hf, file: "sam_small_hf.safetensors", config: config)
        let (ref, _) = try SAMFixtures.outputs()
        let out = model.predict(embedding: ref["encoder.embedding"]!, points: [PromptPoint(x: 30.2, y: 70.8)], multimask: true)
        assertParity(out.lowResLogits, ref["point.low_res_logits"], "low-res logits through SamModel names")
    }

    /// save_pretrained can keep only one of the tied copies of the Fourier matrix.
    func testOnlyTheSharedPositionalEmbedding() throws {
        var (hf, _) = try SAMFixtures.file("sam_small_hf.safetensors")
        let (official, _) = try SAMFixtures.file("sam_small.safetensors")
        hf["prompt_encoder.shared_embedding.positional_embedding"] = nil
        let pe = "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"
        XCTAssertEqual(HuggingFaceNames.toOfficial(hf)[pe], official[pe])
    }
}
