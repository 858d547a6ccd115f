import Foundation
import XCTest
import Formats
import SAM
import TensorCore

/// The TinyViT encoder against MobileSAM's reference code on a small random model (random BatchNorm
/// statistics and attention biases), forward and backward.
final class MobileSAMParityTests: XCTestCase {
    func testTinyViTConfigIsDetectedFromShapes() throws {
        let m = try MobileSAMFixtures.smallModel()
        XCTAssertEqual(m.config.kind, .tinyViT)
        let t = try XCTUnwrap(m.config.tinyViT)
        XCTAssertEqual(t.embedDims, [16, 24, 32, 40])
        XCTAssertEqual(t.depths, [1, 2, 2, 1])
        XCTAssertEqual(Array(t.heads[1...]), [2, 2, 4])
        XCTAssertEqual(Array(t.windowSizes[1...]), [5, 3, 8])
        XCTAssertEqual([t.mlpRatio, t.mbconvExpandRatio, t.localConvSize], [4, 4, 3])
        XCTAssertEqual(m.config.encoder.outChannels, 32)
        XCTAssertTrue(m.imageEncoder is ImageEncoderTinyViT)
    }

    func testAttentionBiasIndicesMatchTheReferenceLayout() {
        // Window 2: points (0,0) (0,1) (1,0) (1,1); offsets numbered by first appearance.
        let (indices, offsets) = TinyViTAttention.offsetIndices(window: 2)
        XCTAssertEqual(offsets, 4)
        XCTAssertEqual(indices, [0, 1, 2, 3,  1, 0, 3, 2,  2, 3, 0, 1,  3, 2, 1, 0])
        XCTAssertEqual(TinyViTAttention.offsetIndices(window: 7).offsets, 49)
    }

    func testEncoderEmbeddingAndEveryBlockOutput() throws {
        let model = try MobileSAMFixtures.smallModel()
        let (ref, _, _) = try MobileSAMFixtures.tensors("mobilesam_small_outputs.safetensors")
        let blocks = (0...).prefix { ref["encoder.block\($0)"] != nil }.count
        XCTAssertEqual(blocks, 6)
        let (embedding, taps) = model.encode(ref["encoder.input"]!, taps: Array(0..<blocks))
        assertParity(embedding, ref["encoder.embedding"], "TinyViT embedding")
        for (i, t) in taps.enumerated() { assertParity(t, ref["encoder.block\(i)"], "TinyViT block \(i) output") }
    }

    func testEncoderGradients() throws {
        let model = try MobileSAMFixtures.smallModel(trainable: true)
        let (ref, _, _) = try MobileSAMFixtures.tensors("mobilesam_small_outputs.safetensors")
        let input = Variable(ref["encoder.input"]!, requiresGrad: true)
        let (embedding, _) = model.imageEncoder(input, taps: [])
        assertParity(embedding.value, ref["encoder.embedding"], "TinyViT embedding (recorded path)")
        embedding.backward(ref["encoder.grad_out"]!)
        assertParity(input.grad!, ref["encoder.grad.input"], "gradient wrt the input image")
        let params = Dictionary(uniqueKeysWithValues: model.imageEncoder.parameters.map { ($0.name, $0) })
        let keys = ref.keys.sorted().filter { $0.hasPrefix("encoder.grad.image_encoder.") }
        XCTAssertGreaterThanOrEqual(keys.count, 10)
        for key in keys {
            let name = String(key.dropFirst("encoder.grad.".count))
            guard let g = params[name]?.grad else { XCTFail("no gradient for \(name)"); continue }
            assertParity(g, ref[key], "gradient wrt \(name)")
        }
    }

    func testPointPromptOnTheSmallModel() throws {
        let model = try MobileSAMFixtures.smallModel()
        let (ref, _, meta) = try MobileSAMFixtures.tensors("mobilesam_small_outputs.safetensors")
        let point = (try JSONSerialization.jsonObject(with: Data(meta["point"]!.utf8)) as! [[Double]])[0]
        let embedding = model.encode(ref["encoder.input"]!).embedding
        let out = model.predict(embedding: embedding, points: [PromptPoint(x: Float(point[0]), y: Float(point[1]), label: 1)],
                                multimask: true)
        assertParity(out.lowResLogits, ref["point.low_res_logits"], "low-res logits")
        assertParity(out.iou, ref["point.iou"], "IoU predictions")
    }

    func testCheckpointHeadIsIgnoredButOtherExtrasAreReported() throws {
        var (weights, meta) = try SAMFixtures.file("mobilesam_small.safetensors")
        XCTAssertNotNil(weights["image_encoder.head.weight"], "the fixture should carry the unused classifier head")
        let json = try JSONSerialization.jsonObject(with: Data(meta["config"]!.utf8)) as! [String: Any]
        var config = try SAMConfig.detect(from: weights, file: "m.safetensors", decoderHeads: (json["decoder_heads"] as! NSNumber).intValue)
        config.encoder.imageSize = 128
        weights["image_encoder.layers.1.blocks.0.attn.attention_biases"] = StoredTensor(Tensor.zeros([2, 24]))
        weights["image_encoder.layers.9.blocks.0.attn.qkv.weight"] = StoredTensor(Tensor.zeros([2]))
        XCTAssertThrowsError(try SAMModel(weights, file: "m.safetensors", config: config)) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains("image_encoder.layers.1.blocks.0.attn.attention_biases: expected [2, 25], found [2, 24]"), m)
            XCTAssertTrue(m.contains("unexpected 1: image_encoder.layers.9.blocks.0.attn.qkv.weight"), m)
            XCTAssertFalse(m.contains("head"), m)
        }
    }

    func testMobileSAMPresetAndConfigJSON() throws {
        let p = try XCTUnwrap(SAMConfig.preset("mobile_sam"))
        XCTAssertEqual(p.kind, .tinyViT)
        XCTAssertEqual(p.tinyViT?.embedDims, [64, 128, 160, 320])
        XCTAssertEqual(p.tinyViT?.windowSizes, [7, 7, 14, 7])
        let back = try JSONDecoder().decode(SAMConfig.self, from: JSONEncoder().encode(p))
        XCTAssertEqual(back, p)
        // A config written before TinyViT (no encoderKind / tinyViT) still decodes, as a ViT.
        var old = try JSONSerialization.jsonObject(with: JSONEncoder().encode(SAMConfig.preset("vit_b")!)) as! [String: Any]
        old["encoderKind"] = nil; old["tinyViT"] = nil
        let decoded = try JSONDecoder().decode(SAMConfig.self, from: JSONSerialization.data(withJSONObject: old))
        XCTAssertEqual(decoded.kind, .vit)
        XCTAssertEqual(decoded, SAMConfig.preset("vit_b"))
    }
}
