import NN
import TensorCore

/// One Flexible Mask Attention Module: attention from the query's features to mask-weighted features (the
/// query's own, or the support's: `FMADKeys`) with the mask as values, "multiply & norm" with the query
/// features, then a feed-forward with residual and instance norm.
public struct FMAMBlock: Module {
    public let query: Linear, key: Linear, value: Linear
    public let ffn: MLPBlock
    public let temperature: Float
    public let keys: FMADKeys

    public init(channels c: Int, temperature: Float, keys: FMADKeys) {
        query = Linear(c, c, bias: false)
        key = Linear(c, c, bias: false)
        value = Linear(c, c, bias: false)
        ffn = MLPBlock(c, hidden: 2 * c, activation: .relu)
        self.temperature = temperature
        self.keys = keys
    }

    /// features (N, C), the support's (N, C; needed only when the keys are the support's), the prior as a column
    /// p (N, 1) -> (N, C) for a G x G grid (N = G²).
    ///
    /// M' (N, C) is p repeated over the channels, so the values V = M' W_Vᵀ are rank one: V = p wᵀ with
    /// w = W_V 1 (row sums). Then A V = (A p) wᵀ: a matrix-vector product instead of an N x N x C GEMM, and
    /// in the backward dA = (g w) pᵀ, an outer product instead of another (the twin computes the same maths
    /// as written in the paper; the parity tests hold the two to 1e-4).
    func callAsFunction(features f: Variable, support fs: Variable?, prior p: Variable, grid g: Int) -> Variable {
        let prof = Profiler.shared
        let attended = prof.measure("fmam attention") { () -> Variable in
            let q = query(f).l2Normalized(), k = key(p * (keys == .query ? f : fs!)).l2Normalized()
            // The 1/tau scale rides on the GEMM: no extra pass over the N x N logits, forward or backward.
            let attention = Variable.matmul(q, k, transposeB: true, alpha: 1 / temperature).softmax(axis: -1)
            let w = value.weight.sum(axes: [1]).reshaped([1, -1])  // (1, C)
            return Variable.matmul(attention, p) * w
        }
        return prof.measure("fmam norm + ffn") {
            let f1 = Self.instanceNorm(attended * f, grid: g)
            return Self.instanceNorm(f1 + ffn(f1), grid: g)
        }
    }

    /// Instance norm over the positions of each channel of (N, C) tokens, no affine, eps 1e-5.
    static func instanceNorm(_ x: Variable, grid g: Int) -> Variable {
        let c = x.shape[1]
        return x.permuted([1, 0]).reshaped([1, c, g, g]).instanceNorm().reshaped([c, g * g]).permuted([1, 0])
    }
}

/// The per-level part of FMAD: FMAM blocks (none for the "w/o FMAD" ablation), then two 3x3 convolutions
/// with instance norm and ReLU.
public struct FMADLevel: Module {
    public let blocks: [FMAMBlock]
    public let conv1: Conv2d, conv2: Conv2d

    public init(channels c: Int, width: Int, blocks n: Int, temperature: Float, keys: FMADKeys) {
        blocks = (0..<n).map { _ in FMAMBlock(channels: c, temperature: temperature, keys: keys) }
        conv1 = Conv2d(c, width, kernel: 3, padding: 1, bias: false)
        conv2 = Conv2d(width, width, kernel: 3, padding: 1, bias: false)
    }

    /// query, support levels (1, C, G, G), the prior as a column (G*G, 1) -> (1, width, G, G).
    func callAsFunction(query: Variable, support: Variable, prior m: Variable) -> Variable {
        let (c, g) = (query.shape[1], query.shape[2])
        var x = query
        if !blocks.isEmpty {
            let tokens = { (v: Variable) in v.reshaped([c, g * g]).permuted([1, 0]) }
            // The support's tokens only when some block keys on them (every block shares the level's choice today).
            let fs = blocks.contains { $0.keys == .support } ? tokens(support) : nil
            var f = tokens(query)
            for block in blocks { f = block(features: f, support: fs, prior: m, grid: g) }
            x = f.permuted([1, 0]).reshaped([1, c, g, g])
        }
        return Profiler.shared.measure("fmad level convs") { conv2(conv1(x).instanceNorm().relu()).instanceNorm().relu() }
    }
}

/// The fusion of the four levels to 64 x 64 logits.
public struct FMADFusion: Module {
    public let conv1: Conv2d, conv2: Conv2d
    public init(levels: Int, width: Int) {
        conv1 = Conv2d(levels * width, width, kernel: 3, padding: 1, bias: false)
        conv2 = Conv2d(width, 1, kernel: 3, padding: 1)
    }
    func callAsFunction(_ levels: [Variable]) -> Variable {
        Profiler.shared.measure("fmad fusion") { conv2(conv1(Variable.concat(levels, axis: 1)).instanceNorm().relu()) }
    }
}

/// The Flexible Mask Attention Decoder: FMAM per level on the query's features against mask-weighted features
/// (`FMADKeys`), per-level convolutions, fusion, logits upsampled x4.
public struct FMAD: Module {
    public let levels: [FMADLevel]
    public let fuse: FMADFusion

    public init(channels c: Int, width: Int, levels n: Int = 4, blocks: Int, temperature: Float, keys: FMADKeys) {
        levels = (0..<n).map { _ in FMADLevel(channels: c, width: width, blocks: blocks, temperature: temperature, keys: keys) }
        fuse = FMADFusion(levels: n, width: width)
    }

    /// Query and support levels (1, C, G, G) each, the prior (1, 1, G, G) -> logits (1, 1, 4G, 4G).
    public func callAsFunction(query: [Variable], support: [Variable], prior: Tensor) -> Variable {
        precondition(query.count == levels.count && support.count == levels.count,
                     "FMAD expects \(levels.count) query and support levels, got \(query.count) and \(support.count)")
        // M' = the prior repeated over the channels; FMAM uses it as the column it repeats (see FMAMBlock).
        let m = Variable(prior.reshaped([prior.count, 1]))
        let fused = fuse(zip(levels, zip(query, support)).map { $0(query: $1.0, support: $1.1, prior: m) })
        let g = fused.shape[2]
        return fused.resizeBilinear(height: 4 * g, width: 4 * g)
    }
}
