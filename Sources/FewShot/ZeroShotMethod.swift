import MedicalData
import SAM
import SSMSAM
import TensorCore

/// SAM zero-shot on each query slice, prompted from the episode's support mask only (the design note's honest
/// baselines): `sam_point` (the mask's deepest interior point), `sam_box` (its bounding box), `sam_mask` (the
/// mask as SAM's mask prompt). One image embedding per query slice serves the three prompts.
public final class ZeroShotMethod: EpisodeMethod {
    public let sam: SAMModel
    public let prompts: [ZeroShotPrompt]
    /// Take the embedding from the bank's frozen SSM-SAM features (same encoder weights, checked by the caller).
    public let sharesEncoder: Bool
    private var embeddings: [SliceBank.Key: Tensor] = [:]

    public init(sam: SAMModel, prompts: [ZeroShotPrompt] = ZeroShotPrompt.allCases, sharesEncoder: Bool = false) {
        (self.sam, self.prompts, self.sharesEncoder) = (sam, prompts, sharesEncoder)
    }

    public static func name(_ p: ZeroShotPrompt) -> String { "sam_\(p.rawValue)" }

    /// Whether SAM's embedding can be taken from `ssm`'s frozen features: the cheap path (no adapters) on the
    /// same image encoder weights.
    public static func canShareEncoder(_ ssm: SSMSAMModel, with sam: SAMModel) -> Bool {
        ssm.adapter == nil && sam.imageEncoder.stateDict() == ssm.imageEncoder.stateDict()
    }
    public var names: [String] { prompts.map(Self.name) }

    public func segment(_ episode: Episode, volume: Volume, supportVolume: Volume, bank: SliceBank) throws -> [String: [Int: [UInt8]]] {
        let s = episode.support
        // Prompts are computed in display layout, where the query images are.
        let supportMask = SliceRenderer.display(s.mask, width: s.image.width, height: s.image.height).map { $0 != 0 }
        var out: [String: [Int: [UInt8]]] = [:]
        var predictor = SAMPredictor(model: sam)
        for q in episode.queries {
            let (w, h) = (q.image.width, q.image.height)
            try predictor.setImage(embedding: try embedding(q.image, of: volume, bank: bank), width: w, height: h)
            for p in prompts {
                let (logits, _) = try ZeroShotBaseline(p).predict(predictor, supportMask: supportMask, supportWidth: s.image.width,
                                                                  supportHeight: s.image.height)
                out[Self.name(p), default: [:]][q.index] = SliceRenderer.display(logits.data.map { $0 > 0 ? 1 : 0 }, width: w, height: h)
            }
        }
        return out
    }

    private func embedding(_ slice: Slice2D, of volume: Volume, bank: SliceBank) throws -> Tensor {
        if sharesEncoder { return try bank.frozenFeatures(slice, of: volume)[3] }
        let key = SliceBank.Key(source: volume.source, index: slice.index)
        if let e = embeddings[key] { return e }
        let e = sam.encode(try bank.input(slice, of: volume).input).embedding
        embeddings[key] = e
        return e
    }
}
