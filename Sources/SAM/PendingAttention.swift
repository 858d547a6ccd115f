import TensorCore
// Placeholder until TensorCore's fused differentiable attention lands (branch attn-grad); removed at merge.
extension Variable {
    static func relativePositionAttention(q: Variable, k: Variable, v: Variable, relH: Variable, relW: Variable, scale: Float) -> Variable {
        let (bh, h, w, hd) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let n = h * w
        if q.requiresGrad || k.requiresGrad || v.requiresGrad || relH.requiresGrad || relW.requiresGrad {
            let logits = Variable.matmul(q.reshaped([bh, n, hd]) * scale, k, transposeB: true)
                .reshaped([bh, h, w, h, w]) + relH.reshaped([bh, h, w, h, 1]) + relW.reshaped([bh, h, w, 1, w])
            return Variable.matmul(logits.reshaped([bh, n, n]).softmax(axis: -1), v)
        }
        return Variable(FusedAttention.relativePosition(q: q.value, k: k.value, v: v.value, relH: relH.value, relW: relW.value, scale: scale))
    }
}
