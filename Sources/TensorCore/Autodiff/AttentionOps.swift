/// Differentiable fused attention.
extension Variable {
    /// softmax(scale * q kᵀ + relH[.., ky] + relW[.., kx]) v with SAM's decomposed relative positions,
    /// as one op: PyTorch's `attn = (q * scale) @ k.transpose(-2, -1)`;
    /// `attn = (attn.view(BH, H, W, H, W) + relH[..., :, None] + relW[..., None, :]).view(BH, N, N)`;
    /// `attn.softmax(dim=-1) @ v` (segment_anything's `Attention` with `add_decomposed_rel_pos`).
    /// q (BH, H, W, d); k, v (BH, N, d) with N = H*W; relH (BH, H, W, H); relW (BH, H, W, W) -> (BH, N, d).
    ///
    /// Runs `FusedAttention`: the forward keeps only each row's log-sum-exp (BH x N floats, not the
    /// BH x N x N probabilities) and the backward recomputes logits block by block. Without recording it
    /// is the inference kernel and keeps nothing.
    public static func relativePositionAttention(q: Variable, k: Variable, v: Variable, relH: Variable, relW: Variable,
                                                 scale: Float) -> Variable {
        let operands = [q, k, v, relH, relW]
        guard Variable.isRecording, operands.contains(where: { $0.requiresGrad }) else {
            return Variable(FusedAttention.relativePosition(q: q.value, k: k.value, v: v.value, relH: relH.value,
                                                            relW: relW.value, scale: scale))
        }
        let (y, lse) = FusedAttention.relativePositionWithLSE(q: q.value, k: k.value, v: v.value, relH: relH.value,
                                                              relW: relW.value, scale: scale)
        var needed: FusedAttention.Inputs = []
        for (input, flag) in zip(operands, [FusedAttention.Inputs.q, .k, .v, .relH, .relW]) where input.requiresGrad {
            needed.insert(flag)
        }
        return Variable(y, inputs: operands) { g in
            let r = FusedAttention.relativePositionBackward(q: q.value, k: k.value, v: v.value, relH: relH.value,
                                                            relW: relW.value, scale: scale, out: y, lse: lse,
                                                            gradOut: g, inputs: needed)
            return [r.q, r.k, r.v, r.relH, r.relW]
        }
    }
}

/// Differentiable relative-position terms.
extension Variable {
    /// SAM's decomposed relative-position term of one axis (`RelativePositionTerms`): along `.height`
    /// `torch.einsum("bhwc,hkc->bhwk", q, Rh)`, along `.width` `torch.einsum("bhwc,wkc->bhwk", q, Rw)`.
    /// q (BH, H, W, d); table (H or W, K, d) -> (BH, H, W, K).
    public static func relativePositionTerms(q: Variable, table: Variable, axis: RelativePositionTerms.Axis) -> Variable {
        let y = RelativePositionTerms.forward(q: q.value, table: table.value, axis: axis)
        return Variable(y, inputs: [q, table]) { g in
            let r = RelativePositionTerms.backward(q: q.value, table: table.value, axis: axis, gradOut: g,
                                                   needQ: q.requiresGrad, needTable: table.requiresGrad)
            return [r.q, r.table]
        }
    }
}
