import Diagnostics
import Foundation
import SSMSAM
import TensorCore

/// SSM-SAM's 1-shot inference on one support and its queries: adapt θ on the support (a self pair, the
/// support slice predicted from itself with its mask as the label), then predict every query from the
/// support at θ'; the model is back at θ afterwards. Without an adaptation the queries are predicted at θ.
public struct OneShotAdapter {
    public let model: SSMSAMModel
    public let adaptation: SupportAdaptation?

    public init(model: SSMSAMModel, adaptation: SupportAdaptation?) { (self.model, self.adaptation) = (model, adaptation) }

    /// Low-res logits (1, 1, 4G, 4G) of each query, and the seconds the adaptation took (nil without one).
    /// `mask` is the support's binary mask in the input frame (1, 1, S, S), `valid` the support image's
    /// resized size in the frame (the point picker stays inside it); queries are produced on demand.
    public func run(support: SliceFeatures, mask: Tensor, valid: (height: Int, width: Int), pointSeed: UInt64,
                    queries count: Int, query: @escaping (Int) throws -> SliceFeatures) throws -> (logits: [Tensor], adaptationSeconds: Double?) {
        guard mask.data.contains(where: { $0 > 0 }) else {
            throw ToolkitError(.invalidArgument, subject: "support mask", "is empty: one labelled pixel at least is needed")
        }
        let points = FewShotPair.points(mask, model: model, valid: valid, seed: pointSeed)
        let predict = { () throws -> [Tensor] in
            let s = Variable.noGrad { support.levels(self.model) }
            return try (0..<count).map { i in
                let q = try query(i)
                return Variable.noGrad { self.model.logits(query: q.levels(self.model), support: s, supportMask: mask, points: points).value }
            }
        }
        guard let adaptation else { return (try predict(), nil) }
        let pair = FewShotPair.selfPair(support, mask: mask, label: try FewShotPair.lossLabel(mask, grid: model.grid), points: points)
        let t0 = Date()
        var seconds = 0.0
        let logits = try adaptation.withAdapted(model, on: [pair]) { () throws -> [Tensor] in
            seconds = Date().timeIntervalSince(t0)
            return try predict()
        }
        return (logits, seconds)
    }
}
