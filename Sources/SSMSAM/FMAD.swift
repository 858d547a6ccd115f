import NN
import TensorCore

/// One Flexible Mask Attention Module: attention from the query's features to the support's mask-weighted
/// features with the mask as values, "multiply & norm" with the query features, then a feed-forward with
/// residual and instance norm.
public struct FMAMBlock: Module {
    public let query: Linear, key: Linear, value: Linear
    public let ffn: MLPBlock
    public let temperature: Float

    public init(channels c: Int, temperature: Float) {
        query = Linear(c, c, bias: false)
        key = Linear(c, c, bias: false)
        value = Linear(c, c, bias: false)
        ffn = MLPBlock(c, hidden: 2 * c, activation: .relu)
        self.temperature = temperature
    }

    /// features, support (N, C); prior M' (N, C) -> (N, C) for a G x G grid (N = G²).
    func callAsFunction(features f: Variable, support fs: Variable, prior m: Variable, grid g: Int) -> Variable {
        let q = query(f).l2Normalized(), k = key(m * fs).l2Normalized(), v = value(m)
        let attention = (Variable.matmul(q, k, transposeB: true) / temperature).softmax(axis: -1)
        let f1 = Self.instanceNorm(Variable.matmul(attention, v) * f, grid: g)
        return Self.instanceNorm(f1 + ffn(f1), grid: g)
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

    public init(channels c: Int, width: Int, blocks n: Int, temperature: Float) {
        blocks = (0..<n).map { _ in FMAMBlock(channels: c, temperature: temperature) }
        conv1 = Conv2d(c, width, kernel: 3, padding: 1, bias: false)
        conv2 = Conv2d(width, width, kernel: 3, padding: 1, bias: false)
    }

    /// query, support levels (1, C, G, G), the expanded prior M' (G*G, C) -> (1, width, G, G).
    func callAsFunction(query: Variable, support: Variable, prior m: Variable) -> Variable {
        let (c, g) = (query.shape[1], query.shape[2])
        var x = query
        if !blocks.isEmpty {
            let tokens = { (v: Variable) in v.reshaped([c, g * g]).permuted([1, 0]) }
            let fs = tokens(support)
            var f = tokens(query)
            for block in blocks { f = block(features: f, support: fs, prior: m, grid: g) }
            x = f.permuted([1, 0]).reshaped([1, c, g, g])
        }
        return conv2(conv1(x).instanceNorm().relu()).instanceNorm().relu()
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
        conv2(conv1(Variable.concat(levels, axis: 1)).instanceNorm().relu())
    }
}

/// The Flexible Mask Attention Decoder: FMAM per level on the query's features against the support's
/// mask-weighted features, per-level convolutions, fusion, logits upsampled x4.
public struct FMAD: Module {
    public let levels: [FMADLevel]
    public let fuse: FMADFusion

    public init(channels c: Int, width: Int, levels n: Int = 4, blocks: Int, temperature: Float) {
        levels = (0..<n).map { _ in FMADLevel(channels: c, width: width, blocks: blocks, temperature: temperature) }
        fuse = FMADFusion(levels: n, width: width)
    }

    /// Query and support levels (1, C, G, G) each, the prior (1, 1, G, G) -> logits (1, 1, 4G, 4G).
    public func callAsFunction(query: [Variable], support: [Variable], prior: Tensor) -> Variable {
        precondition(query.count == levels.count && support.count == levels.count,
                     "FMAD expects \(levels.count) query and support levels, got \(query.count) and \(support.count)")
        // M' is the same for every level (all have the neck's width): expanded once.
        let m = Variable(SupportMaskPrior.expanded(prior, channels: query[0].shape[1]))
        let fused = fuse(zip(levels, zip(query, support)).map { $0(query: $1.0, support: $1.1, prior: m) })
        let g = fused.shape[2]
        return fused.resizeBilinear(height: 4 * g, width: 4 * g)
    }
}
