import Foundation
import Formats
import SAM
import SSMSAM
import TensorCore

/// The small random SAM bases of the SAM tests (Tests/SAMTests/Fixtures) and this suite's own fixtures.
enum SSMSAMFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let samDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("SAMTests/Fixtures")

    /// The small ViT SAM (image 128, embed 64, depth 4, neck 32) or the small MobileSAM, frozen.
    static func base(tiny: Bool) throws -> SAMModel {
        let name = tiny ? "mobilesam_small.safetensors" : "sam_small.safetensors"
        let (weights, meta) = try SafeTensors.read(samDirectory.appendingPathComponent(name))
        let json = try JSONSerialization.jsonObject(with: Data(meta["config"]!.utf8)) as! [String: Any]
        var config = try SAMConfig.detect(from: weights, file: name, decoderHeads: (json["decoder_heads"] as! NSNumber).intValue)
        config.preset = nil
        if tiny { config.encoder.imageSize = (json["image_size"] as! NSNumber).intValue }
        return try SAMModel(weights, file: name, config: config)
    }

    /// Small heads for the small bases.
    static func config(for base: SAMModel) -> SSMSAMConfig {
        var c = SSMSAMConfig(base: base.config)
        c.samplerMLP = 64
        c.headWidth = 16
        c.samplerHeads = 4
        c.globalQueries = 3
        return c
    }

    /// A deterministic smooth test image (1, 3, S, S) and a disc mask (1, 1, S, S) centred at (cx, cy).
    static func image(size s: Int, phase: Float) -> Tensor {
        Tensor(shape: [1, 3, s, s], data: (0..<(3 * s * s)).map { i in
            let (c, p) = (i / (s * s), i % (s * s))
            return sinf(Float(p % s) * 0.11 + phase + Float(c)) * cosf(Float(p / s) * 0.07 - phase)
        })
    }
    static func disc(size s: Int, cx: Float, cy: Float, radius: Float) -> Tensor {
        Tensor(shape: [1, 1, s, s], data: (0..<(s * s)).map { p in
            let (x, y) = (Float(p % s) + 0.5 - cx, Float(p / s) + 0.5 - cy)
            return x * x + y * y <= radius * radius ? 1 : 0
        })
    }
}
