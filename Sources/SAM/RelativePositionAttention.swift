import NN
import TensorCore

/// Multi-head attention with SAM's decomposed relative positions (`image_encoder.Attention`).
///
/// The core runs fused (`Variable.relativePositionAttention`): never more than one block of one head's
/// logits exists, in the forward and in the backward alike.
public struct RelativePositionAttention: Module {
    public let qkv: Linear, proj: Linear
    public let relPosH: Variable, relPosW: Variable
    public let heads: Int

    /// `inputSize`: the side of the token grid attended over (the window, or the whole grid).
    public init(dim: Int, heads: Int, inputSize: Int) {
        precondition(heads > 0 && dim % heads == 0, "RelativePositionAttention: dim \(dim) must split into \(heads) heads")
        qkv = Linear(dim, 3 * dim)
        proj = Linear(dim, dim)
        relPosH = Variable(Tensor.zeros([2 * inputSize - 1, dim / heads]), requiresGrad: true)
        relPosW = Variable(Tensor.zeros([2 * inputSize - 1, dim / heads]), requiresGrad: true)
        self.heads = heads
    }

    public var dim: Int { proj.outFeatures }

    /// SAM zero-initialises the relative position tables.
    public func initializer(forKey key: String, shape: [Int]) -> Initializer? { .zeros }

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
        let dim = self.dim, hd = dim / heads, n = h * w
        let prof = Profiler.shared
        let projected = prof.measure("attention qkv") { qkv(x) }
        let qkvOut = prof.measure("attention layout") { projected.reshaped([b, n, 3, heads, hd]).permuted([2, 0, 3, 1, 4]).reshaped([3, b * heads, n, hd]) }
        let q = qkvOut.narrow(axis: 0, start: 0, length: 1).reshaped([b * heads, h, w, hd])
        let k = qkvOut.narrow(axis: 0, start: 1, length: 1).reshaped([b * heads, n, hd])
        let v = qkvOut.narrow(axis: 0, start: 2, length: 1).reshaped([b * heads, n, hd])
        let (relH, relW) = prof.measure("attention rel-pos terms") { () -> (Variable, Variable) in
            let rh = Self.relativeTable(relPosH, q: h, k: h), rw = Self.relativeTable(relPosW, q: w, k: w)
            return (Variable.relativePositionTerms(q: q, table: rh, axis: .height),
                    Variable.relativePositionTerms(q: q, table: rw, axis: .width))
        }
        let out = prof.measure("attention core (fused)") {
            Variable.relativePositionAttention(q: q, k: k, v: v, relH: relH, relW: relW, scale: 1 / Float(hd).squareRoot())
        }
        let merged = prof.measure("attention layout") { out.reshaped([b, heads, h, w, hd]).permuted([0, 2, 3, 1, 4]).reshaped([b, h, w, dim]) }
        return prof.measure("attention proj") { proj(merged) }
    }
}
