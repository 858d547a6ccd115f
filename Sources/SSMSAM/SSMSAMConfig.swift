import SAM

/// Every choice of an SSM-SAM model, with the design note's defaults (`shared/design/ssm-sam.md`); written
/// beside the weights as JSON (snake_case keys, like the PyTorch twin's config).
public struct SSMSAMConfig: Codable, Equatable, Sendable {
    /// The frozen base model's architecture.
    public var base: SAMConfig
    /// Per-block adapters in the ViT encoder (the paper); off = the cheap path with cached features.
    public var adapters = true
    /// The Flexible Mask Attention Modules; off = the "w/o FMAD" ablation.
    public var fmad = true
    /// FMAM blocks per feature level.
    public var fmadBlocks = 1
    /// Whose features FMAM's keys mask with the support prior (see `FMADKeys`).
    public var fmadKeys = FMADKeys.query
    /// Attention temperature tau of FMAM.
    public var temperature: Float = 1.0 / 30
    /// Support-mask blur sigma, in feature cells.
    public var maskSigma: Float = 1.0
    /// Learned global queries of the self-sampler, per layer.
    public var globalQueries = 10
    /// Self-sampler layers.
    public var samplerLayers = 2
    /// Heads of the self-sampler's attentions.
    public var samplerHeads = 8
    /// Hidden width of the self-sampler's MLP.
    public var samplerMLP = 2048
    /// Width of the per-level convolutions and the fusion.
    public var headWidth = 128
    /// Positive and negative points sampled from the support mask.
    public var positivePoints = 8, negativePoints = 8

    public init(base: SAMConfig) {
        self.base = base
        adapters = base.kind == .vit
    }

    enum CodingKeys: String, CodingKey {
        case base, adapters, fmad, temperature
        case fmadBlocks = "fmad_blocks", fmadKeys = "fmad_keys", maskSigma = "mask_sigma", globalQueries = "global_queries"
        case samplerLayers = "sampler_layers", samplerHeads = "sampler_heads", samplerMLP = "sampler_mlp"
        case headWidth = "head_width", positivePoints = "positive_points", negativePoints = "negative_points"
    }

    /// Reads every key; a config written before `fmad_keys` existed has none (`FMADKeys.unrecorded`).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        base = try c.decode(SAMConfig.self, forKey: .base)
        adapters = try c.decode(Bool.self, forKey: .adapters)
        fmad = try c.decode(Bool.self, forKey: .fmad)
        fmadBlocks = try c.decode(Int.self, forKey: .fmadBlocks)
        fmadKeys = try c.decodeIfPresent(FMADKeys.self, forKey: .fmadKeys) ?? .unrecorded
        temperature = try c.decode(Float.self, forKey: .temperature)
        maskSigma = try c.decode(Float.self, forKey: .maskSigma)
        globalQueries = try c.decode(Int.self, forKey: .globalQueries)
        samplerLayers = try c.decode(Int.self, forKey: .samplerLayers)
        samplerHeads = try c.decode(Int.self, forKey: .samplerHeads)
        samplerMLP = try c.decode(Int.self, forKey: .samplerMLP)
        headWidth = try c.decode(Int.self, forKey: .headWidth)
        positivePoints = try c.decode(Int.self, forKey: .positivePoints)
        negativePoints = try c.decode(Int.self, forKey: .negativePoints)
    }

    /// Channels of the feature levels (the neck's output).
    public var channels: Int { base.encoder.outChannels }
    /// Adapter width h = D / 32 (at least 1).
    public var adapterWidth: Int { Swift.max(1, base.encoder.embedDim / 32) }
    /// The ViT blocks whose outputs are the four levels: depth/4, depth/2, 3 depth/4, depth (0-based: minus 1).
    public var vitTaps: [Int] {
        let d = base.encoder.depth
        return [d / 4 - 1, d / 2 - 1, 3 * d / 4 - 1, d - 1]
    }
}
