import Diagnostics
import Foundation
import MedicalData
import NN
import SAM
import SSMSAM
import TensorCore

/// SSM-SAM on an episode (the protocol's 1-shot inference, `OneShotAdapter`): adapt θ on the chunk's support,
/// then predict every query from it with θ'. Without an adaptation it predicts with θ as it is.
public final class SSMSAMMethod: EpisodeMethod {
    public let model: SSMSAMModel
    public let adaptation: SupportAdaptation?
    public let name: String
    /// Seed of the support-mask point picker.
    public var pointSeed: UInt64 = 0
    /// Seconds spent adapting, per episode (the protocol records the online adaptation time).
    public private(set) var adaptationSeconds: [Double] = []

    public init(name: String, model: SSMSAMModel, adaptation: SupportAdaptation?) {
        (self.name, self.model, self.adaptation) = (name, model, adaptation)
    }

    public var names: [String] { [name] }

    public func segment(_ episode: Episode, volume: Volume, supportVolume: Volume, bank: SliceBank) throws -> [String: [Int: [UInt8]]] {
        let s = episode.support
        let (sw, sh) = (s.image.width, s.image.height)
        let mask = bank.preprocessing.framedMask(SliceRenderer.display(s.mask, width: sw, height: sh).map { $0 != 0 }, width: sw, height: sh)
        let features = { (slice: Slice2D, v: Volume) throws -> SliceFeatures in
            if self.model.adapter == nil { return .frozen(try bank.frozenFeatures(slice, of: v)) }
            return try SliceFeatures.of(try bank.input(slice, of: v).input, model: self.model)
        }
        let queries = episode.queries
        let (logits, seconds) = try OneShotAdapter(model: model, adaptation: adaptation).run(
            support: try features(s.image, supportVolume), mask: mask, valid: bank.resized(s.image), pointSeed: pointSeed &+ UInt64(episode.chunk),
            queries: queries.count) { try features(queries[$0].image, volume) }
        if let seconds { adaptationSeconds.append(seconds) }
        var out: [Int: [UInt8]] = [:]
        for (q, low) in zip(queries, logits) {
            let (w, h) = (q.image.width, q.image.height)
            let full = SAMPostprocessing.masks(low, modelSize: bank.preprocessing.modelSize, inputSize: bank.resized(q.image),
                                               originalSize: (h, w))
            out[q.index] = SliceRenderer.display(full.data.map { $0 > 0 ? 1 : 0 }, width: w, height: h)
        }
        return [name: out]
    }
}
