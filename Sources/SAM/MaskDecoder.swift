import TensorCore

/// SAM's mask decoder (`MaskDecoder`): output tokens through the two-way transformer, upscaled image
/// features, hypernetwork MLPs per mask token, IoU head.
public struct MaskDecoder {
    public let config: SAMConfig.Decoder
    public let iouToken: Variable, maskTokens: Variable
    public let transformer: TwoWayTransformer
    public let upscale1: ConvTranspose2d, upscaleNorm: LayerNorm2d, upscale2: ConvTranspose2d
    public let hypernetworks: [MLP]
    public let iouHead: MLP

    public init(_ b: WeightBinder, config c: SAMConfig.Decoder, prefix: String = "mask_decoder") {
        config = c
        let d = c.promptDim, masks = c.multimaskOutputs + 1
        iouToken = b.take("\(prefix).iou_token.weight", shape: [1, d])
        maskTokens = b.take("\(prefix).mask_tokens.weight", shape: [masks, d])
        transformer = TwoWayTransformer(b, "\(prefix).transformer", config: c)
        upscale1 = ConvTranspose2d(b, "\(prefix).output_upscaling.0", in: d, out: d / 4, kernel: 2)
        upscaleNorm = LayerNorm2d(b, "\(prefix).output_upscaling.1", channels: d / 4)
        upscale2 = ConvTranspose2d(b, "\(prefix).output_upscaling.3", in: d / 4, out: d / 8, kernel: 2)
        hypernetworks = (0..<masks).map { MLP(b, "\(prefix).output_hypernetworks_mlps.\($0)", in: d, hidden: d, out: d / 8, depth: 3) }
        iouHead = MLP(b, "\(prefix).iou_prediction_head", in: d, hidden: c.iouHeadHidden, out: masks, depth: c.iouHeadDepth)
    }

    public var parameters: [Variable] {
        [iouToken, maskTokens] + transformer.parameters + upscale1.parameters + upscaleNorm.parameters
            + upscale2.parameters + hypernetworks.flatMap(\.parameters) + iouHead.parameters
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
        let output = Variable.concat([iouToken, maskTokens], axis: 0).reshaped([1, masks + 1, d])
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
