import TensorCore

/// Multi-head attention with separate q/k/v projections to an optional internal dimension, as SAM's
/// decoder `transformer.Attention(embedding_dim, num_heads, downsample_rate)`: `q_proj`, `k_proj`,
/// `v_proj` (dim -> dim / downsample), scaled dot product per head, `out_proj` back to dim.
public struct MultiHeadAttention: Module {
    public let qProj: Linear, kProj: Linear, vProj: Linear, outProj: Linear
    public let heads: Int

    public init(_ dim: Int, heads: Int, downsample: Int = 1) {
        let internalDim = dim / downsample
        precondition(downsample > 0 && dim % downsample == 0 && heads > 0 && internalDim % heads == 0,
                     "MultiHeadAttention: dim \(dim) / downsample \(downsample) must split into \(heads) heads")
        qProj = Linear(dim, internalDim)
        kProj = Linear(dim, internalDim)
        vProj = Linear(dim, internalDim)
        outProj = Linear(internalDim, dim)
        self.heads = heads
    }

    public var internalDim: Int { qProj.outFeatures }

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
}
