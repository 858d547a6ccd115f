import TensorCore

/// Multi-head attention with SAM's decomposed relative positions (`image_encoder.Attention`).
///
/// Inference runs a fused kernel that never holds more than one block of one head's logits;
/// when a gradient is needed the same computation is composed from differentiable ops.
public struct RelativePositionAttention {
    public let qkv: Linear, proj: Linear
    public let relPosH: Variable, relPosW: Variable
    public let heads: Int, dim: Int

    public init(_ b: WeightBinder, _ prefix: String, dim: Int, heads: Int, inputSize: Int) {
        qkv = Linear(b, "\(prefix).qkv", in: dim, out: 3 * dim)
        proj = Linear(b, "\(prefix).proj", in: dim, out: dim)
        relPosH = b.take("\(prefix).rel_pos_h", shape: [2 * inputSize - 1, dim / heads])
        relPosW = b.take("\(prefix).rel_pos_w", shape: [2 * inputSize - 1, dim / heads])
        (self.heads, self.dim) = (heads, dim)
    }

    public var parameters: [Variable] { qkv.parameters + proj.parameters + [relPosH, relPosW] }

    /// SAM's `get_rel_pos`: the (q, k) table of relative embeddings, resizing the stored table by
    /// linear interpolation when its length is not 2 * max(q, k) - 1.
    static func relativeTable(_ table: Variable, q: Int, k: Int) -> Variable {
        let maxDist = 2 * Swift.max(q, k) - 1
        let resized = table.shape[0] == maxDist ? table : table.interpolateRows(to: maxDist)
        let qScale = Swift.max(Double(k) / Double(q), 1), kScale = Swift.max(Double(q) / Double(k), 1)
        var indices: [Int] = []
        for i in 0..<q { for j in 0..<k {
            // The reference computes this in float and truncates with .long().
            indices.append(Int(Double(i) * qScale - Double(j) * kScale + Double(k - 1) * kScale))
        } }
        return resized.gatherRows(indices).reshaped([q, k, table.shape[1]])
    }

    /// x: (B, H, W, C) -> (B, H, W, C).
    public func callAsFunction(_ x: Variable) -> Variable {
        let (b, h, w) = (x.shape[0], x.shape[1], x.shape[2])
        let hd = dim / heads, n = h * w
        let prof = Profiler.shared
        let projected = prof.measure("attention qkv") { qkv(x) }
        let qkvOut = prof.measure("attention layout") { projected.reshaped([b, n, 3, heads, hd]).permuted([2, 0, 3, 1, 4]).reshaped([3, b * heads, n, hd]) }
        let q = qkvOut.narrow(axis: 0, start: 0, length: 1).reshaped([b * heads, h, w, hd])
        let k = qkvOut.narrow(axis: 0, start: 1, length: 1).reshaped([b * heads, n, hd])
        let v = qkvOut.narrow(axis: 0, start: 2, length: 1).reshaped([b * heads, n, hd])
        let (relH, relW) = prof.measure("attention rel-pos terms") { () -> (Variable, Variable) in
            let rh = Self.relativeTable(relPosH, q: h, k: h), rw = Self.relativeTable(relPosW, q: w, k: w)
            // rel_h[b, y, x, ky] = sum_c q[b, y, x, c] Rh[y, ky, c]: one product per query row y.
            let relH = Variable.matmul(q.permuted([1, 0, 2, 3]).reshaped([h, b * heads * w, hd]), rh, transposeB: true)
                .reshaped([h, b * heads, w, h]).permuted([1, 0, 2, 3])
            let relW = Variable.matmul(q.permuted([2, 0, 1, 3]).reshaped([w, b * heads * h, hd]), rw, transposeB: true)
                .reshaped([w, b * heads, h, w]).permuted([1, 2, 0, 3])
            return (relH, relW)
        }
        let scale = 1 / Float(hd).squareRoot()
        let out: Variable
        if q.requiresGrad || k.requiresGrad || v.requiresGrad || relH.requiresGrad || relW.requiresGrad {
            let logits = Variable.matmul(q.reshaped([b * heads, n, hd]) * scale, k, transposeB: true)
                .reshaped([b * heads, h, w, h, w])
                + relH.reshaped([b * heads, h, w, h, 1]) + relW.reshaped([b * heads, h, w, 1, w])
            out = Variable.matmul(logits.reshaped([b * heads, n, n]).softmax(axis: -1), v)
        } else {
            out = prof.measure("attention core (fused)") {
                Variable(FusedAttention.relativePosition(q: q.value, k: k.value, v: v.value, relH: relH.value,
                                                         relW: relW.value, scale: scale))
            }
        }
        let merged = prof.measure("attention layout") { out.reshaped([b, heads, h, w, hd]).permuted([0, 2, 3, 1, 4]).reshaped([b, h, w, dim]) }
        return prof.measure("attention proj") { proj(merged) }
    }
}
