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
