import NN
import TensorCore

/// `TwoWayAttentionBlock`: token self-attention, token-to-image, MLP, image-to-token.
public struct TwoWayAttentionBlock: Module {
    public static let checkpointKeys = [
        "selfAttention": "self_attn", "tokenToImage": "cross_attn_token_to_image", "imageToToken": "cross_attn_image_to_token",
    ]
    public let selfAttention: MultiHeadAttention, tokenToImage: MultiHeadAttention, imageToToken: MultiHeadAttention
    public let norm1: LayerNorm, norm2: LayerNorm, norm3: LayerNorm, norm4: LayerNorm
    public let mlp: MLPBlock
    public let skipFirstLayerPE: Bool

    public init(config c: SAMConfig.Decoder, skipFirstLayerPE: Bool) {
        let d = c.promptDim
        selfAttention = MultiHeadAttention(d, heads: c.heads)
        tokenToImage = MultiHeadAttention(d, heads: c.heads, downsample: c.attentionDownsample)
        imageToToken = MultiHeadAttention(d, heads: c.heads, downsample: c.attentionDownsample)
        norm1 = LayerNorm(d, eps: Float(c.layerNormEps))
        norm2 = LayerNorm(d, eps: Float(c.layerNormEps))
        norm3 = LayerNorm(d, eps: Float(c.layerNormEps))
        norm4 = LayerNorm(d, eps: Float(c.layerNormEps))
        mlp = MLPBlock(d, hidden: c.mlpDim, activation: .relu)
        self.skipFirstLayerPE = skipFirstLayerPE
    }

    func callAsFunction(queries: Variable, keys: Variable, queryPE: Variable, keyPE: Variable) -> (Variable, Variable) {
        var q: Variable
        if skipFirstLayerPE {
            q = selfAttention(q: queries, k: queries, v: queries)
        } else {
            let qp = queries + queryPE
            q = queries + selfAttention(q: qp, k: qp, v: queries)
        }
        q = norm1(q)
        q = norm2(q + tokenToImage(q: q + queryPE, k: keys + keyPE, v: keys))
        q = norm3(q + mlp(q))
        let k = norm4(keys + imageToToken(q: keys + keyPE, k: q + queryPE, v: q))
        return (q, k)
    }
}

/// `TwoWayTransformer`: the blocks, then a final token-to-image attention.
public struct TwoWayTransformer: Module {
    public static let checkpointKeys = ["finalAttention": "final_attn_token_to_image", "finalNorm": "norm_final_attn"]
    public let layers: [TwoWayAttentionBlock]
    public let finalAttention: MultiHeadAttention
    public let finalNorm: LayerNorm

    public init(config c: SAMConfig.Decoder) {
        layers = (0..<c.transformerDepth).map { TwoWayAttentionBlock(config: c, skipFirstLayerPE: $0 == 0) }
        finalAttention = MultiHeadAttention(c.promptDim, heads: c.heads, downsample: c.attentionDownsample)
        finalNorm = LayerNorm(c.promptDim)
    }

    /// image (B, C, H, W), imagePE (B, C, H, W), tokens (B, N, C) -> (tokens, image as (B, HW, C)).
    func callAsFunction(image: Variable, imagePE: Variable, tokens: Variable) -> (Variable, Variable) {
        let (b, c) = (image.shape[0], image.shape[1])
        var keys = image.reshaped([b, c, -1]).permuted([0, 2, 1])
        let keyPE = imagePE.reshaped([b, c, -1]).permuted([0, 2, 1])
        var queries = tokens
        for layer in layers { (queries, keys) = layer(queries: queries, keys: keys, queryPE: tokens, keyPE: keyPE) }
        let attn = finalAttention(q: queries + tokens, k: keys + keyPE, v: keys)
        return (finalNorm(queries + attn), keys)
    }
}
