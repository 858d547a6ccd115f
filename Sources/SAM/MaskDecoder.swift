import NN
import TensorCore

/// SAM's mask decoder (`MaskDecoder`): output tokens through the two-way transformer, upscaled image
/// features, hypernetwork MLPs per mask token, IoU head.
public struct MaskDecoder: Module {
    public static let checkpointKeys = [
        "upscale1": "output_upscaling.0", "upscaleNorm": "output_upscaling.1", "upscale2": "output_upscaling.3",
        "hypernetworks": "output_hypernetworks_mlps", "iouHead": "iou_prediction_head",
    ]
    public let config: SAMConfig.Decoder
    public let iouToken: Embedding, maskTokens: Embedding
    public let transformer: TwoWayTransformer
    public let upscale1: ConvTranspose2d, upscaleNorm: LayerNorm2d, upscale2: ConvTranspose2d
    public let hypernetworks: [MLP]
    public let iouHead: MLP

    /// The decoder of a configuration, with placeholder values: load a checkpoint or call `initialize`.
    public init(config c: SAMConfig.Decoder) {
        config = c
        let d = c.promptDim, masks = c.multimaskOutputs + 1
        iouToken = Embedding(1, d)
        maskTokens = Embedding(masks, d)
        transformer = TwoWayTransformer(config: c)
        upscale1 = ConvTranspose2d(d, d / 4, kernel: 2)
        upscaleNorm = LayerNorm2d(d / 4)
        upscale2 = ConvTranspose2d(d / 4, d / 8, kernel: 2)
        hypernetworks = (0..<masks).map { _ in MLP(d, hidden: d, d / 8, depth: 3) }
        iouHead = MLP(d, hidden: c.iouHeadHidden, masks, depth: c.iouHeadDepth)
    }

    /// Low-res mask logits (1, K, 4H, 4W) and IoU predictions (1, K): K = multimaskOutputs masks 1... when
    /// `multimask`, else mask 0 alone. `embedding` (1, C, H, W), `densePE` (1, C, H, W).
    public func callAsFunction(embedding: Variable, densePE: Variable, sparse: Variable, dense: Variable,
                               multimask: Bool) -> (masks: Variable, iou: Variable) {
        let all = predictAll(embedding: embedding, densePE: densePE, sparse: sparse, dense: dense)
        let start = multimask ? 1 : 0, count = multimask ? config.multimaskOutputs : 1
        return (all.masks.narrow(axis: 1, start: start, length: count), all.iou.narrow(axis: 1, start: start, length: count))
    }

    /// Every mask token's logits and IoU (`predict_masks`).
    public func predictAll(embedding: Variable, densePE: Variable, sparse: Variable, dense: Variable) -> (masks: Variable, iou: Variable) {
        precondition(embedding.shape.count == 4 && embedding.shape[0] == 1 && embedding.shape[1] == config.promptDim,
                     "mask decoder expects a 1 x \(config.promptDim) x H x W image embedding, got \(embedding.shape)")
        let d = config.promptDim, masks = config.multimaskOutputs + 1
        let output = Variable.concat([iouToken.weight, maskTokens.weight], axis: 0).reshaped([1, masks + 1, d])
        let tokens = Variable.concat([output, sparse], axis: 1)
        let (h, w) = (embedding.shape[2], embedding.shape[3])
        let (hs, src) = transformer(image: embedding + dense, imagePE: densePE, tokens: tokens)
        let image = src.permuted([0, 2, 1]).reshaped([1, d, h, w])
        let upscaled = upscale2(upscaleNorm(upscale1(image)).gelu()).gelu()  // (1, d/8, 4h, 4w)
        let hyper = Variable.concat((0..<masks).map { i in
            hypernetworks[i](hs.narrow(axis: 1, start: 1 + i, length: 1))
        }, axis: 1)  // (1, masks, d/8)
        let logits = Variable.matmul(hyper, upscaled.reshaped([1, d / 8, 16 * h * w])).reshaped([1, masks, 4 * h, 4 * w])
        let iou = iouHead(hs.narrow(axis: 1, start: 0, length: 1)).reshaped([1, masks])
        return (logits, iou)
    }
}
