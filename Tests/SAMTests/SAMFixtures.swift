import Foundation
import XCTest
import Formats
import SAM
import TensorCore

/// The small random SAM and its reference outputs (scripts/make_sam_fixtures.py, real segment_anything).
enum SAMFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func file(_ name: String) throws -> (StateDict, [String: String]) {
        try SafeTensors.read(directory.appendingPathComponent(name))
    }

    /// The model, decoder heads taken from the fixture's config (shapes cannot tell them).
    static func model(trainable: Bool = false) throws -> SAMModel {
        let (weights, meta) = try file("sam_small.safetensors")
        let json = try JSONSerialization.jsonObject(with: Data(meta["config"]!.utf8)) as! [String: Any]
        var config = try SAMConfig.detect(from: weights, file: "sam_small.safetensors",
                                          decoderHeads: (json["decoder_heads"] as! NSNumber).intValue)
        config.preset = nil
        return try SAMModel(weights, file: "sam_small.safetensors", config: config, trainable: trainable)
    }

    /// The prompt encoder and mask decoder tensors that architecture detection reads, with SAM's official
    /// shapes (zeros: only shapes matter), for detection tests of the presets.
    static func addOfficialDecoderShapes(to dict: inout StateDict) {
        dict["prompt_encoder.point_embeddings.0.weight"] = StoredTensor(Tensor.zeros([1, 256]))
        dict["prompt_encoder.mask_downscaling.3.weight"] = StoredTensor(Tensor.zeros([16, 4, 2, 2]))
        for l in 0..<2 { dict["mask_decoder.transformer.layers.\(l).norm1.weight"] = StoredTensor(Tensor.zeros([256])) }
        dict["mask_decoder.transformer.layers.0.mlp.lin1.weight"] = StoredTensor(Tensor.zeros([2048, 256]))
        dict["mask_decoder.transformer.layers.0.cross_attn_token_to_image.q_proj.weight"] = StoredTensor(Tensor.zeros([128, 256]))
        dict["mask_decoder.mask_tokens.weight"] = StoredTensor(Tensor.zeros([4, 256]))
        for l in 0..<3 { dict["mask_decoder.iou_prediction_head.layers.\(l).weight"] = StoredTensor(Tensor.zeros([l == 2 ? 4 : 256, 256])) }
    }

    static func outputs() throws -> (tensors: [String: Tensor], meta: [String: String]) {
        let (dict, meta) = try file("sam_small_outputs.safetensors")
        var t: [String: Tensor] = [:]
        for (k, v) in dict.entries { t[k] = v.floatTensor }
        return (t, meta)
    }
}

/// max |actual - expected| <= tolerance * max |expected| (the parity rule for model outputs).
func assertParity(_ actual: Tensor, _ expected: Tensor?, tolerance: Float = 1e-4, _ what: String,
                  file: StaticString = #filePath, line: UInt = #line) {
    guard let expected else { XCTFail("\(what): no reference tensor", file: file, line: line); return }
    guard actual.shape == expected.shape else {
        XCTFail("\(what): shape \(actual.shape), expected \(expected.shape)", file: file, line: line); return
    }
    let scale = max(expected.maxAbs, 1e-12)
    let err = zip(actual.data, expected.data).map { abs($0 - $1) }.max() ?? 0
    XCTAssert(err <= tolerance * scale, "\(what): max abs error \(err) exceeds \(tolerance) x max magnitude \(scale)",
              file: file, line: line)
}
