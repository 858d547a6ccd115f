import Diagnostics
import Foundation
import MedicalData
import NN
import SAM
import SSMSAM
import TensorCore

/// SSM-SAM on an episode (the protocol's 1-shot inference): adapt θ on the support (a self pair: the support
/// slice predicted from itself, its mask the label), then predict every query from the support with θ'.
/// Without an adaptation it predicts with θ as it is (the "no adaptation" control).
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
        let support = try bank.input(s.image, of: supportVolume)
        let mask = bank.preprocessing.framedMask(SliceRenderer.display(s.mask, width: sw, height: sh).map { $0 != 0 }, width: sw, height: sh)
        guard mask.data.contains(where: { $0 > 0 }) else {
            throw ToolkitError(.invalidArgument, subject: "chunk \(episode.chunk)", "the support slice \(s.index) has an empty mask")
        }
        let features = { (slice: Slice2D, v: Volume) throws -> SliceFeatures in
            if self.model.adapter == nil { return .frozen(try bank.frozenFeatures(slice, of: v)) }
            return try SliceFeatures.of(try bank.input(slice, of: v).input, model: self.model)
        }
        let supportFeatures = try features(s.image, supportVolume)
        let points = FewShotPair.points(mask, model: model, valid: support.resized, seed: pointSeed &+ UInt64(episode.chunk))
        let pair = FewShotPair.selfPair(supportFeatures, mask: mask, label: try FewShotPair.lossLabel(mask, grid: model.grid), points: points)
        let predict = { () throws -> [Int: [UInt8]] in
            var out: [Int: [UInt8]] = [:]
            let sLevels = Variable.noGrad { supportFeatures.levels(self.model) }
            for q in episode.queries {
                let (w, h) = (q.image.width, q.image.height)
                let qi = try bank.input(q.image, of: volume)
                let qf = try features(q.image, volume)
                let low = Variable.noGrad { self.model.logits(query: qf.levels(self.model), support: sLevels, supportMask: mask, points: points).value }
                let full = SAMPostprocessing.masks(low, modelSize: bank.preprocessing.modelSize, inputSize: qi.resized, originalSize: (h, w))
                out[q.index] = SliceRenderer.display(full.data.map { $0 > 0 ? 1 : 0 }, width: w, height: h)
            }
            return out
        }
        guard let adaptation else { return [name: try predict()] }
        let t0 = Date()
        return try adaptation.withAdapted(model, on: [pair]) {
            adaptationSeconds.append(Date().timeIntervalSince(t0))
            return [name: try predict()]
        }
    }
}
