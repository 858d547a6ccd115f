import Formats
import Foundation
import NN
import SAM
import SSMSAM
import TensorCore
import XCTest

/// `ssmsam parity` on an SSM-SAM bundle recorded from the PyTorch twin by scripts/record_reference.py
/// (scripts/make_parity_fixtures.py): the twin's heads with adapters on the small ViT.
final class SSMSAMParityTests: XCTestCase {
    static let bundleURL = SSMSAMFixtures.directory.appendingPathComponent("parity_ssmsam_vit")

    /// The model the bundle was recorded with: the small ViT base and the heads of ssmsam_vit_adapters.safetensors.
    private func model() throws -> SSMSAMModel {
        let (dict, meta) = try SafeTensors.read(SSMSAMFixtures.directory.appendingPathComponent("ssmsam_vit_adapters.safetensors"))
        let base = try SSMSAMFixtures.base(tiny: false)
        let json = try JSONSerialization.jsonObject(with: Data(meta["config"]!.utf8)) as! [String: Any]
        let model = try SSMSAMModel(base: base, config: try SSMSAMConfig(twin: json, base: base.config))
        var heads = StateDict()
        for (k, v) in dict.entries where SSMSAMModel.headPrefixes.contains(where: { k.hasPrefix($0 + ".") }) { heads[k] = v }
        _ = try model.load(heads, file: "ssmsam_vit_adapters.safetensors", strict: false)
        return model
    }

    private func report(_ model: SSMSAMModel) throws -> ParityReport {
        let bundle = try ParityBundle(directory: Self.bundleURL)
        func image(_ stage: String) throws -> SSMSAMParityStages.Image {
            let t = try XCTUnwrap(bundle.reference(stage))
            return (t.data.map { UInt8($0) }, t.shape[1], t.shape[0])
        }
        let mask = try XCTUnwrap(bundle.reference("support.mask")).data.map { $0 > 0.5 }
        let outputs = try SSMSAMParityStages.outputs(model: model, bundle: bundle, support: try image("support.image"),
                                                     supportMask: mask, query: try image("query.image"))
        return try ParityReport(bundle: bundle, model: "test", outputs: outputs, tolerance: 1e-3)
    }

    func testTheTwinsBundlePassesEveryStage() throws {
        let r = try report(try model())
        XCTAssertTrue(r.passed, r.table)
        XCTAssertEqual(r.stages.count, 24)
        XCTAssertEqual(Set(r.stages.map(\.stage)), Set(SSMSAMParityStages.names), "every SSM-SAM stage is recorded with adapters on")
        for row in r.stages { XCTAssertLessThanOrEqual(row.maxRel!, 1e-4, "\(row.stage): the toolkit matches the twin closely") }
        XCTAssertEqual(r.stages.last?.maskIoU, 1)
    }

    func testOnePerturbedHeadWeightFailsAtItsLevel() throws {
        let m = try model()
        let name = "fmad.levels.2.conv1.weight"
        var t = try XCTUnwrap(m.stateDict()[name]).floatTensor
        t.data[0] += 0.5
        var dict = StateDict()
        dict[name] = StoredTensor(t)
        _ = try m.load(dict, file: "perturbation", strict: false)
        let r = try report(m)
        XCTAssertEqual(r.firstFailure, "fmad.level.2", r.table)
        XCTAssertTrue(r.stages.first { $0.stage == "fmad.level.1" }!.passed, "the other levels are untouched")
    }
}
