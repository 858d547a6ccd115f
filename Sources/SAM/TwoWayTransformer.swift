import TensorCore

/// The decoder's attention (`transformer.Attention`): projections to an internal dimension
/// (dim / downsample), heads, scaled dot product, output projection.
public struct DecoderAttention {
    public let qProj: Linear, kProj: Linear, vProj: Linear, outProj: Linear
    public let heads: Int, internalDim: Int

    init(_ b: WeightBinder, _ prefix: String, dim: Int, heads: Int, downsample: Int) {
        internalDim = dim / downsample
        qProj = Linear(b, "\(prefix).q_proj", in: dim, out: internalDim)
        kProj = Linear(b, "\(prefix).k_proj", in: dim, out: internalDim)
        vProj = Linear(b, "\(prefix).v_proj", in: dim, out: internalDim)
        outProj = Linear(b, "\(prefix).out_proj", in: internalDim, out: dim)
        self.heads = heads
    }

    /// q (B, Nq, dim), k and v (B, Nk, dim) -> (B, Nq, dim).
    public func callAsFunction(q: Variable, k: Variable, v: Variable) -> Variable {
        let hd = internalDim / heads
        func split(_ x: Variable) -> Variable {  // (B, N, C) -> (B, heads, N, hd)
            x.reshaped([x.shape[0], x.shape[1], heads, hd]).permuted([0, 2, 1, 3])
        }
        let qh = split(qProj(q)), kh = split(kProj(k)), vh = split(vProj(v))
        let logits = Variable.matmul(qh, kh, transposeB: true) * (1 / Float(hd).squareRoot())
        let out = Variable.matmul(logits.softmax(axis: -1), vh)
        return outProj(out.permuted([0, 2, 1, 3]).reshaped([q.shape[0], q.shape[1], internalDim]))
    }

    public var parameters: [Variable] { qProj.parameters + kProj.parameters + vProj.parameters + outProj.parameters }
}

/// `TwoWayAttentionBlock`: token self-attention, token-to-image, MLP, image-to-token.
public struct TwoWayAttentionBlock {
    public let selfAttention: DecoderAttention, tokenToImage: DecoderAttention, imageToToken: DecoderAttention
    public let norm1: LayerNorm, norm2: LayerNorm, norm3: LayerNorm, norm4: LayerNorm
    public let mlp: MLPBlock
    public let skipFirstLayerPE: Bool

    init(_ b: WeightBinder, _ prefix: String, config c: SAMConfig.Decoder, skipFirstLayerPE: Bool) {
        let d = c.promptDim
        selfAttention = DecoderAttention(b, "\(prefix).self_attn", dim: d, heads: c.heads, downsample: 1)
        tokenToImage = DecoderAttention(b, "\(prefix).cross_attn_token_to_image", dim: d, heads: c.heads, downsample: c.attentionDownsample)
        imageToToken = DecoderAttention(b, "\(prefix).cross_attn_image_to_token", dim: d, heads: c.heads, downsample: c.attentionDownsample)
        norm1 = LayerNorm(b, "\(prefix).norm1", dim: d, eps: 1e-5)
        norm2 = LayerNorm(b, "\(prefix).norm2", dim: d, eps: 1e-5)
        norm3 = LayerNorm(b, "\(prefix).norm3", dim: d, eps: 1e-5)
        norm4 = LayerNorm(b, "\(prefix).norm4", dim: d, eps: 1e-5)
        mlp = MLPBlock(b, "\(prefix).mlp", dim: d, hidden: c.mlpDim, gelu: false)
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

    public var parameters: [Variable] {
        selfAttention.parameters + tokenToImage.parameters + imageToToken.parameters + norm1.parameters
            + norm2.parameters + norm3.parameters + norm4.parameters + mlp.parameters
    }
}

/// `TwoWayTransformer`: the blocks, then a final token-to-image attention.
public struct TwoWayTransformer {
    public let layers: [TwoWayAttentionBlock]
    public let finalAttention: DecoderAttention
    public let finalNorm: LayerNorm

    init(_ b: WeightBinder, _ prefix: String, config c: SAMConfig.Decoder) {
        layers = (0..<c.transformerDepth).map {
            TwoWayAttentionBlock(b, "\(prefix).layers.\($0)", config: c, skipFirstLayerPE: $0 == 0)
        }
        finalAttention = DecoderAttention(b, "\(prefix).final_attn_token_to_image", dim: c.promptDim, heads: c.heads,
                                          downsample: c.attentionDownsample)
        finalNorm = LayerNorm(b, "\(prefix).norm_final_attn", dim: c.promptDim, eps: 1e-5)
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

    public var parameters: [Variable] { layers.flatMap(\.parameters) + finalAttention.parameters + finalNorm.parameters }
}
