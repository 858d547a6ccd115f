import Diagnostics
import Formats
import NN
import SAM
import SSMSAM
import TensorCore
import XCTest

/// SSM-SAM's model tree on the small bases: names, groups, gradients to every head, storage round trips.
final class SSMSAMModelTests: XCTestCase {
    private func forward(_ model: SSMSAMModel) -> (logits: Variable, label: Tensor) {
        let s = model.config.base.encoder.imageSize
        let query = SSMSAMFixtures.image(size: s, phase: 0.3), support = SSMSAMFixtures.image(size: s, phase: 0.1)
        let supportMask = SSMSAMFixtures.disc(size: s, cx: Float(s) * 0.45, cy: Float(s) * 0.5, radius: Float(s) * 0.2)
        let label = SSMSAMFixtures.disc(size: s, cx: Float(s) * 0.5, cy: Float(s) * 0.5, radius: Float(s) * 0.22)
        let points = PointPicker(positives: 4, negatives: 4, bandWidth: s / 16)
            .pick(mask: supportMask, valid: (height: s, width: s), seed: 3)
        // A stand-in for the high-pass feature: this test is about the tree and gradients, not the filter.
        let highPass = { (x: Tensor) in x * 0.5 }
        let q = model.featureLevels(query, highPass: highPass(query)), sp = model.featureLevels(support, highPass: highPass(support))
        let logits = model.logits(query: q, support: sp, supportMask: supportMask, points: points)
        let g = model.grid
        let label256 = Variable.noGrad { Variable(label).averagePooled(height: 4 * g, width: 4 * g).value }
        return (logits, label256)
    }

    func testHeadsTrainTheBaseStaysFrozenAndEveryHeadGetsAGradient() throws {
        for tiny in [false, true] {
            let base = try SSMSAMFixtures.base(tiny: tiny)
            let model = try SSMSAMModel(base: base, config: SSMSAMFixtures.config(for: base))
            try model.initializeHeads(seed: 1)
            let groups = Dictionary(uniqueKeysWithValues: model.parameterGroups(.prefixes(SSMSAMModel.headPrefixes)).map { ($0.name, $0.parameters.count) })
            XCTAssertEqual(Set(groups.keys), tiny ? ["levels", "sampler", "fmad"] : ["adapter", "sampler", "fmad"])
            XCTAssertTrue(model.trainableParameters().allSatisfy { !$0.name.hasPrefix("image_encoder.") })
            let (logits, label) = forward(model)
            XCTAssertEqual(logits.shape, [1, 1, 4 * model.grid, 4 * model.grid])
            let loss = SegmentationLoss.total(logits, label)
            XCTAssertTrue(loss.value.scalar.isFinite)
            loss.backward()
            for (name, p) in model.trainableParameters() {
                XCTAssertGreaterThan(p.grad?.maxAbs ?? 0, 0, "\(tiny ? "TinyViT" : "ViT"): no gradient for \(name)")
            }
            XCTAssertTrue(model.namedParameters().filter { $0.name.hasPrefix("image_encoder.") }.allSatisfy { $0.parameter.grad == nil })
        }
    }

    func testFMADOffHasNoAttentionBlocksAndDiffers() throws {
        let base = try SSMSAMFixtures.base(tiny: true)
        var config = SSMSAMFixtures.config(for: base)
        let on = try SSMSAMModel(base: base, config: config)
        config.fmad = false
        let off = try SSMSAMModel(base: base, config: config)
        try on.initializeHeads(seed: 2)
        try off.initializeHeads(seed: 2)
        XCTAssertFalse(off.namedParameters().contains { $0.name.contains(".blocks.") && $0.name.hasPrefix("fmad.") })
        XCTAssertNotEqual(Variable.noGrad { forward(on).logits.value }, Variable.noGrad { forward(off).logits.value })
    }

    func testStoreRoundTripsBothFormats() throws {
        let base = try SSMSAMFixtures.base(tiny: false)
        let model = try SSMSAMModel(base: base, config: SSMSAMFixtures.config(for: base))
        try model.initializeHeads(seed: 7)
        let expected = Variable.noGrad { forward(model).logits.value }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ssmsam-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for ext in ["safetensors", "pth"] {
            let url = dir.appendingPathComponent("m.\(ext)")
            try SSMSAMStore.save(model, to: url)
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("m.json").path))
            let back = try SSMSAMStore.load(url)
            if ext == "pth" {
                // Beside a .pth is the twin's flat config; the base comes from the encoder's shapes.
                let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("m.json"))) as? [String: Any]
                XCTAssertEqual(json?["backbone"] as? String, "vit")
                XCTAssertEqual(back.config.base.encoder, model.config.base.encoder)
                XCTAssertEqual(try JSONSerialization.data(withJSONObject: back.config.twinDictionary, options: .sortedKeys),
                               try JSONSerialization.data(withJSONObject: model.config.twinDictionary, options: .sortedKeys))
            } else {
                XCTAssertEqual(back.config, model.config)
            }
            XCTAssertEqual(back.stateDict(), model.stateDict(), ext)
            XCTAssertEqual(Variable.noGrad { forward(back).logits.value }, expected, ext)
            XCTAssertTrue(back.trainableParameters().allSatisfy { !$0.name.hasPrefix("image_encoder.") })
        }
        XCTAssertThrowsError(try SSMSAMStore.save(model, to: dir.appendingPathComponent("m.npy"))) {
            XCTAssertEqual(($0 as? ToolkitError)?.kind, .unsupported)
        }
    }
}
