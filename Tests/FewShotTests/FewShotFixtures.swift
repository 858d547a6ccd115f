import FewShot
import Formats
import Foundation
import SAM
import SSMSAM
import TensorCore
import TestSupport
import XCTest

/// This suite's fixtures, the small MobileSAM base of the SAM tests and the twin's TinyViT heads of the
/// SSM-SAM tests (which the few-shot fixture reuses rather than repeats).
enum FewShotFixtures {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let directory = tests.appendingPathComponent("FewShotTests/Fixtures")

    /// Every tensor of a fixture file as float, and its metadata.
    static func read(_ url: URL) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let (dict, meta) = try SafeTensors.read(url)
        return (Dictionary(uniqueKeysWithValues: dict.entries.map { ($0.name, $0.tensor.floatTensor) }), meta)
    }

    /// The small TinyViT SSM-SAM model of the twin's fixtures: MobileSAM small (frozen) and its heads.
    static func tinyModel() throws -> SSMSAMModel { try model(tiny: true) }

    /// The twin fixtures' small models: MobileSAM small and the TinyViT heads, or the small ViT SAM with
    /// adapters (gradients through the encoder).
    static func model(tiny: Bool) throws -> SSMSAMModel {
        let headsName = tiny ? "ssmsam_tinyvit.safetensors" : "ssmsam_vit_adapters.safetensors"
        let base = try self.base(tiny: tiny)
        let (heads, meta) = try SafeTensors.read(tests.appendingPathComponent("SSMSAMTests/Fixtures/\(headsName)"))
        let twin = try JSONSerialization.jsonObject(with: Data(meta["config"]!.utf8)) as! [String: Any]
        let model = try SSMSAMModel(base: base, config: try SSMSAMConfig(twin: twin, base: base.config))
        var dict = StateDict()
        for (k, v) in heads.entries where SSMSAMModel.headPrefixes.contains(where: { k.hasPrefix($0 + ".") }) { dict[k] = v }
        try model.load(dict, file: headsName, strict: false)
        model.assignNames()
        return model
    }

    /// For a CLI run on the shared CT: the CT and its labels (required: a skip, or a failure in CI, without
    /// them) and a new scratch folder named after `label`, removed when `test` ends.
    static func sharedCTRun(_ test: XCTestCase, _ label: String) throws -> (ct: URL, labels: URL, dir: URL) {
        let ct = try TestAssets.require(EvaluationRunnerTests.abdomen.appendingPathComponent("ct.nii.gz"), "the shared abdominal CT",
                                        howToGet: "put the team's shared folder beside the repository (../shared/data/abdomen-ct)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return (ct, EvaluationRunnerTests.abdomen.appendingPathComponent("labels.nii.gz"), dir)
    }

    /// The tiny MobileSAM base as model files in `dir` (`base.safetensors` + `base.json`), for CLI runs.
    static func writeTinyBase(in dir: URL) throws -> URL {
        let base = dir.appendingPathComponent("base.safetensors")
        try FileManager.default.copyItem(at: tests.appendingPathComponent("SAMTests/Fixtures/mobilesam_small.safetensors"), to: base)
        try SAMModelStore.writeConfig(try self.base(tiny: true).config, to: dir.appendingPathComponent("base.json"))
        return base
    }

    /// The small SAM bases of the SAM tests (MobileSAM small, or the small ViT SAM), decoder included.
    static func base(tiny: Bool) throws -> SAMModel {
        let baseName = tiny ? "mobilesam_small.safetensors" : "sam_small.safetensors"
        let (weights, baseMeta) = try SafeTensors.read(tests.appendingPathComponent("SAMTests/Fixtures/\(baseName)"))
        let samJSON = try JSONSerialization.jsonObject(with: Data(baseMeta["config"]!.utf8)) as! [String: Any]
        var samConfig = try SAMConfig.detect(from: weights, file: baseName, decoderHeads: (samJSON["decoder_heads"] as! NSNumber).intValue)
        samConfig.preset = nil
        if tiny { samConfig.encoder.imageSize = (samJSON["image_size"] as! NSNumber).intValue }
        return try SAMModel(weights, file: baseName, config: samConfig)
    }

    /// A smooth deterministic image (1, 3, S, S) and an ellipse mask (1, 1, S, S).
    static func image(size s: Int, phase: Float) -> Tensor {
        Tensor(shape: [1, 3, s, s], data: (0..<(3 * s * s)).map { i in
            let (c, p) = (i / (s * s), i % (s * s))
            return sinf(Float(p % s) * 0.13 + phase + Float(c)) * cosf(Float(p / s) * 0.09 - phase)
        })
    }
    static func ellipse(size s: Int, cx: Float, cy: Float, rx: Float, ry: Float) -> Tensor {
        Tensor(shape: [1, 1, s, s], data: (0..<(s * s)).map { p in
            let (x, y) = ((Float(p % s) + 0.5 - cx) / rx, (Float(p / s) + 0.5 - cy) / ry)
            return x * x + y * y < 1 ? 1 : 0
        })
    }
}
