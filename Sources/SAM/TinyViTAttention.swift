import NN
import TensorCore

/// TinyViT's window attention (`tiny_vit_sam.Attention`): its own LayerNorm, then multi-head attention
/// over the tokens of one window with a learned bias per head and relative offset.
///
/// The bias of query i and key j is `attention_biases[head, idx(|dy|, |dx|)]`, where (dy, dx) is the
/// offset between their window positions and offsets are numbered in order of first appearance scanning
/// (i, j) row-major, exactly as the reference builds `attention_bias_idxs` (a non-persistent buffer, so it
/// is computed here, never read from a checkpoint).
public struct TinyViTAttention: Module {
    public let norm: LayerNorm
    public let qkv: Linear, proj: Linear
    /// (heads, window^2): one bias per head and offset.
    public let attentionBiases: Variable
    public let heads: Int, dim: Int, window: Int
    /// Offset number of each (query, key) pair, window^4 entries.
    public let biasIndices: [Int]

    public init(dim: Int, heads: Int, window: Int) {
        precondition(heads > 0 && dim % heads == 0 && window > 0, "TinyViTAttention: dim \(dim) must split into \(heads) heads, window \(window) > 0")
        norm = LayerNorm(dim, eps: 1e-5)
        qkv = Linear(dim, 3 * dim)
        proj = Linear(dim, dim)
        let (indices, offsets) = Self.offsetIndices(window: window)
        attentionBiases = Variable(Tensor.zeros([heads, offsets]), requiresGrad: true)
        biasIndices = indices
        (self.heads, self.dim, self.window) = (heads, dim, window)
    }

    /// The reference's `attention_bias_idxs` (flattened) and the number of distinct offsets.
    public static func offsetIndices(window: Int) -> (indices: [Int], offsets: Int) {
        var numbers: [Int: Int] = [:]  // key |dy| * window + |dx|
        var indices: [Int] = []
        let points = (0..<window).flatMap { y in (0..<window).map { x in (y, x) } }
        for p in points { for q in points {
            let key = abs(p.0 - q.0) * window + abs(p.1 - q.1)
            if numbers[key] == nil { numbers[key] = numbers.count }
            indices.append(numbers[key]!)
        } }
        return (indices, numbers.count)
    }

    /// The (heads, N, N) bias table for N = window^2 tokens.
    public func biasTable() -> Variable {
        let n = window * window
        return attentionBiases.permuted([1, 0]).gatherRows(biasIndices).permuted([1, 0]).reshaped([heads, n, n])
    }

    /// x: (B, N, C) tokens of B windows -> (B, N, C).
    public func callAsFunction(_ x: Variable) -> Variable {
        let (b, n) = (x.shape[0], x.shape[1])
        let hd = dim / heads
        // The reference views qkv as (B, N, heads, 3 * hd) and splits q | k | v inside each head.
        let parts = qkv(norm(x)).reshaped([b, n, heads, 3, hd]).permuted([3, 0, 2, 1, 4]).reshaped([3, b * heads, n, hd])
        let q = parts.narrow(axis: 0, start: 0, length: 1).reshaped([b * heads, n, hd])
        let k = parts.narrow(axis: 0, start: 1, length: 1).reshaped([b * heads, n, hd])
        let v = parts.narrow(axis: 0, start: 2, length: 1).reshaped([b * heads, n, hd])
        let scale = 1 / Float(hd).squareRoot()
        let logits = (Variable.matmul(q, k, transposeB: true) * scale).reshaped([b, heads, n, n]) + biasTable()
        let out = Variable.matmul(logits.reshaped([b * heads, n, n]).softmax(axis: -1), v)
        return proj(out.reshaped([b, heads, n, hd]).permuted([0, 2, 1, 3]).reshaped([b, n, dim]))
    }

    /// The reference zero-initialises the biases.
    public func initializer(forKey key: String, shape: [Int]) -> Initializer? { .zeros }
}
