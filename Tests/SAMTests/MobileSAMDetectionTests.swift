import Foundation
import XCTest
import Formats
import SAM
import TensorCore

/// The mobile_sam preset is recognised from checkpoint shapes alone (no weights needed).
final class MobileSAMDetectionTests: XCTestCase {
    func testMobileSAMShapesAreDetectedAsThePreset() throws {
        let t = SAMConfig.TinyViTEncoder()
        var dict = StateDict()
        func put(_ name: String, _ shape: [Int]) { dict["image_encoder.\(name)"] = StoredTensor(Tensor.zeros(shape)) }
        put("patch_embed.seq.0.c.weight", [t.embedDims[0] / 2, 3, 3, 3])
        for i in 0..<t.depths[0] { put("layers.0.blocks.\(i).conv1.c.weight", [t.embedDims[0] * 4, t.embedDims[0], 1, 1]) }
        for s in 1..<4 {
            let d = t.embedDims[s]
            for i in 0..<t.depths[s] { put("layers.\(s).blocks.\(i).attn.qkv.weight", [3 * d, d]) }
            put("layers.\(s).blocks.0.attn.norm.weight", [d])
            put("layers.\(s).blocks.0.attn.attention_biases", [t.heads[s], t.windowSizes[s] * t.windowSizes[s]])
        }
        put("layers.1.blocks.0.mlp.fc1.weight", [4 * t.embedDims[1], t.embedDims[1]])
        put("layers.1.blocks.0.local_conv.c.weight", [t.embedDims[1], 1, 3, 3])
        put("neck.0.weight", [256, t.embedDims[3], 1, 1])
        SAMFixtures.addOfficialDecoderShapes(to: &dict)
        let detected = try SAMConfig.detect(from: dict, file: "mobile_sam.safetensors")
        XCTAssertEqual(detected.preset, "mobile_sam")
        XCTAssertEqual(detected.tinyViT, t)

        // A TinyViT without its third attention stage is refused with the reason.
        for name in dict.names where name.hasPrefix("image_encoder.layers.3.") { dict[name] = nil }
        XCTAssertThrowsError(try SAMConfig.detect(from: dict, file: "odd.safetensors")) { e in
            XCTAssertTrue("\(e)".contains("TinyViT with 3 stages"), "\(e)")
        }
    }
}
