import Diagnostics
import Foundation
import SAM
import SSMSAM
import TensorCore

/// SSM-SAM's 1-shot inference on plain images (RGB pixels, as `adapt` reads PNG/JPEG files and as the zoo's
/// golden files store them): SAM's preprocessing of the support, its mask framed as the input is, and each
/// query; then `OneShotAdapter`. The one place where images become an adaptation, for the CLI and the zoo.
public struct ImageOneShot {
    /// An RGB image: `pixels` interleaved, `width * height * 3` bytes.
    public struct RGBImage {
        public let pixels: [UInt8], width: Int, height: Int
        public init(pixels: [UInt8], width: Int, height: Int) { (self.pixels, self.width, self.height) = (pixels, width, height) }
    }

    /// What a run gives per query: the low-res logits (1, 1, 4G, 4G) and the query's resized size in the
    /// model's frame (for `SAMPostprocessing`).
    public struct Result {
        public let logits: [Tensor]
        public let resized: [(height: Int, width: Int)]
        /// Seconds the adaptation took (nil without one).
        public let adaptationSeconds: Double?
    }

    public let adapter: OneShotAdapter

    public init(model: SSMSAMModel, adaptation: SupportAdaptation?) { adapter = OneShotAdapter(model: model, adaptation: adaptation) }

    /// Adapts on `support` with `mask` (one flag per pixel, the support's size), then predicts every query.
    public func run(support: RGBImage, mask: [Bool], queries: [RGBImage], pointSeed: UInt64) throws -> Result {
        guard mask.count == support.width * support.height else {
            throw ToolkitError(.mismatch, subject: "support mask", "has \(mask.count) pixels, the support image \(support.width) x \(support.height)")
        }
        let model = adapter.model
        let pre = SAMPreprocessing(modelSize: model.config.base.encoder.imageSize)
        let s = try pre.modelInput(rgb: support.pixels, width: support.width, height: support.height)
        let q = try queries.map { try pre.modelInput(rgb: $0.pixels, width: $0.width, height: $0.height) }
        let (logits, seconds) = try adapter.run(
            support: try SliceFeatures.of(s.input, model: model), mask: pre.framedMask(mask, width: support.width, height: support.height),
            valid: s.resized, pointSeed: pointSeed, queries: queries.count) { try SliceFeatures.of(q[$0].input, model: model) }
        return Result(logits: logits, resized: q.map(\.resized), adaptationSeconds: seconds)
    }
}
