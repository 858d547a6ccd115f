import Formats
import NN
import SAM
import TensorCore
import XCTest

/// SAM as a module tree: names, initialisation from a seed, freezing the encoder, exporting the heads.
final class SAMModuleTreeTests: XCTestCase {
    func testTreeNamesAreTheOfficialCheckpointNames() throws {
        let (weights, _) = try SAMFixtures.file("sam_small.safetensors")
        let model = try SAMFixtures.model()
        XCTAssertEqual(Set(model.namedTensors().map(\.name)), Set(weights.names))
        XCTAssertEqual(model.namedBuffers().map(\.name), ["prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"])
        XCTAssertEqual(model.stateDict(), weights.reordered(as: model.stateDict().names), "export equals the checkpoint bit for bit")

        let (mobile, _) = try SAMFixtures.file("mobilesam_small.safetensors")
        let tiny = try MobileSAMFixtures.smallModel()
        let used = Set(mobile.names.filter { !$0.hasSuffix("num_batches_tracked") && !$0.hasPrefix("image_encoder.head.")
            && !$0.hasPrefix("image_encoder.norm_head.") })
        XCTAssertEqual(Set(tiny.namedTensors().map(\.name)), used)
        XCTAssertTrue(tiny.namedBuffers().map(\.name).contains("image_encoder.layers.0.blocks.0.conv1.bn.running_var"))
    }

    func testRandomModelFromASeedRuns() throws {
        let (weights, _) = try SAMFixtures.file("sam_small.safetensors")
        let config = try SAMFixtures.model().config
        let a = SAMModel(config: config), b = SAMModel(config: config)
        try a.initialize(seed: 11)
        try b.initialize(seed: 11)
        XCTAssertEqual(a.stateDict(), b.stateDict())
        XCTAssertEqual(Set(a.stateDict().names), Set(weights.names))
        let input = Tensor(shape: [1, 3, 128, 128], data: (0..<(3 * 128 * 128)).map { Float($0 % 17) / 17 - 0.5 })
        let embedding = a.encode(input).embedding
        XCTAssertEqual(embedding.shape, [1, 32, 8, 8])
        XCTAssertTrue(embedding.data.allSatisfy(\.isFinite))
        let tinyConfig = try MobileSAMFixtures.smallModel().config
        XCTAssertNoThrow(try SAMModel(config: tinyConfig).initialize(seed: 1))
    }

    func testFrozenEncoderTrainableHeadsExportOnlyTheHeads() throws {
        let model = try SAMFixtures.model(trainable: true)
        XCTAssertEqual(model.freeze(["image_encoder", "prompt_encoder"]),
                       model.namedParameters().filter { !$0.name.hasPrefix("mask_decoder.") }.count)
        let heads = model.stateDict(.trainable)
        XCTAssertFalse(heads.names.isEmpty)
        XCTAssertTrue(heads.names.allSatisfy { $0.hasPrefix("mask_decoder.") })
        let groups = model.parameterGroups(.layer)
        XCTAssertTrue(groups.contains { $0.name == "mask_decoder.transformer.layers.0.self_attn.q_proj" })
        XCTAssertTrue(groups.allSatisfy { $0.name.hasPrefix("mask_decoder.") })
    }
}

private extension StateDict {
    /// The same tensors in the given name order.
    func reordered(as names: [String]) -> StateDict {
        var out = StateDict()
        for n in names { out[n] = self[n] }
        return out
    }
}
