import Diagnostics
import SAM
import SSMSAM
import TensorCore

/// One labelled example of the segmentation loss: a target slice predicted from a reference (support) slice,
/// its mask and prompt points taken from that mask; the target's label is used by the loss only.
///
/// Inner (support) pairs of a 1-shot task predict the support slice from itself (the only labelled slice);
/// outer (query) pairs predict a query slice from its chunk's support.
public struct FewShotPair {
    public let target: SliceFeatures
    public let reference: SliceFeatures
    /// The reference's mask (1, 1, S, S) in the input frame: FMAD's prior and the points' source.
    public let referenceMask: Tensor
    /// The self-sampler's points, from `referenceMask` only.
    public let points: [SamplerPoint]
    /// The target's label at the loss's resolution (1, 1, 4G, 4G): the area average of its binary mask.
    public let label: Tensor
    /// Whether target and reference are the same slice (its levels are then computed once per forward).
    public let isSelfPair: Bool

    /// A pair predicting `target` (label `label` at 4G) from `reference`, its mask and points.
    public init(target: SliceFeatures, label: Tensor, reference: SliceFeatures, referenceMask: Tensor, points: [SamplerPoint]) {
        self.init(target, label, reference, referenceMask, points, isSelfPair: false)
    }

    /// A pair predicting a labelled slice from itself (a support's inner-loop pair).
    public static func selfPair(_ slice: SliceFeatures, mask: Tensor, label: Tensor, points: [SamplerPoint]) -> FewShotPair {
        FewShotPair(slice, label, slice, mask, points, isSelfPair: true)
    }

    private init(_ t: SliceFeatures, _ l: Tensor, _ r: SliceFeatures, _ m: Tensor, _ p: [SamplerPoint], isSelfPair: Bool) {
        (target, label, reference, referenceMask, points, self.isSelfPair) = (t, l, r, m, p, isSelfPair)
    }

    /// The loss (balanced BCE + IoU, or plain BCE + IoU) of `model` at its current parameters on this pair.
    public func loss(_ model: SSMSAMModel, plainBCE: Bool = false) -> Variable {
        SegmentationLoss.total(logits(model), label, plain: plainBCE)
    }

    /// The target's mask logits (1, 1, 4G, 4G, the label's resolution) of `model` at its current parameters.
    public func logits(_ model: SSMSAMModel) -> Variable {
        let q = target.levels(model)
        let s = isSelfPair ? q : reference.levels(model)
        return model.logits(query: q, support: s, supportMask: referenceMask, points: points)
    }

    /// A binary mask (1, 1, S, S) at the loss's resolution (1, 1, 4G, 4G): block averages, as the twin's `label_at`.
    public static func lossLabel(_ mask: Tensor, grid: Int) throws -> Tensor {
        guard mask.shape.count == 4, mask.shape[0] == 1, mask.shape[1] == 1, mask.shape[2] == mask.shape[3],
              mask.shape[2] % (4 * grid) == 0 else {
            throw ToolkitError(.mismatch, subject: "label", "expected a 1 x 1 x S x S mask with S a multiple of \(4 * grid), got \(mask.shape)")
        }
        return Variable.noGrad { Variable(mask).averagePooled(height: 4 * grid, width: 4 * grid).value }
    }

    /// The support-mask points for `model`'s config (band two feature cells wide), from `mask` within the
    /// image's area `valid` of the frame.
    public static func points(_ mask: Tensor, model: SSMSAMModel, valid: (height: Int, width: Int), seed: UInt64) -> [SamplerPoint] {
        let c = model.config, s = c.base.encoder.imageSize
        return PointPicker(positives: c.positivePoints, negatives: c.negativePoints, bandWidth: 2 * s / model.grid)
            .pick(mask: mask, valid: valid, seed: seed)
    }
}
