import Diagnostics
import Formats
import NN
import SAM
import SSMSAM
import TensorCore
import XCTest

final class FeatureCacheTests: XCTestCase {
    func testCachedAndUncachedForwardsAreBitIdentical() throws {
        for tiny in [true, false] {
            let base = try SSMSAMFixtures.base(tiny: tiny)
            var config = SSMSAMFixtures.config(for: base)
            config.adapters = false
            let model = try SSMSAMModel(base: base, config: config)
            try model.initializeHeads(seed: 4)
            let image = SSMSAMFixtures.image(size: config.base.encoder.imageSize, phase: 0.2)
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ssmsam-cache-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dir) }
            let cache = try FeatureCache(baseID: tiny ? "tiny" : "vit", directory: dir)
            var computed = 0
            let frozen = try cache.features(for: image) { computed += 1; return model.frozenFeatures(image) }
            _ = try cache.features(for: image) { computed += 1; return [] }
            XCTAssertEqual(computed, 1, "the second lookup is a memory hit")
            let fromDisk = try FeatureCache(baseID: tiny ? "tiny" : "vit", directory: dir).features(for: image) {
                XCTFail("expected a disk hit"); return []
            }
            XCTAssertEqual(fromDisk, frozen)
            let direct = Variable.noGrad { model.featureLevels(image).map(\.value) }
            let cached = Variable.noGrad { model.levels(fromFrozen: fromDisk.map { Variable($0) }).map(\.value) }
            XCTAssertEqual(direct, cached, "\(tiny ? "TinyViT" : "ViT"): cached and uncached levels must be bit-identical")
        }
    }

    func testKeysSeparateImagesAndBasesAndBadEntriesAreRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ssmsam-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = try FeatureCache(baseID: "a", directory: dir), b = try FeatureCache(baseID: "b", directory: dir)
        let x = Tensor(shape: [1, 3, 2, 2], repeating: 1), y = Tensor(shape: [1, 3, 2, 2], repeating: 2)
        XCTAssertNotEqual(a.key(for: x), a.key(for: y))
        XCTAssertNotEqual(a.key(for: x), b.key(for: x))
        XCTAssertNotEqual(a.key(for: x), a.key(for: x.reshaped([1, 3, 4, 1])))
        // An entry whose metadata does not match its name is an error naming the file, not silent garbage.
        var dict = StateDict()
        dict["level.0"] = StoredTensor(Tensor.zeros([1]))
        let file = dir.appendingPathComponent("\(a.key(for: x)).safetensors")
        try SafeTensors.write(dict, metadata: ["key": "other", "levels": "1"], to: file)
        XCTAssertThrowsError(try a.features(for: x) { [] }) { e in
            XCTAssertEqual((e as? ToolkitError)?.kind, .invalidFile)
            XCTAssertEqual((e as? ToolkitError)?.subject, file.path)
        }
    }
}
