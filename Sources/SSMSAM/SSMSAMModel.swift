import Diagnostics
import NN
import SAM
import TensorCore

/// An SSM-SAM model: SAM's frozen image encoder (official names, `image_encoder.*`) and the trainable heads
/// — ViT adapters (`adapter.*`), TinyViT level projections (`levels.*`), the self-sampler (`sampler.*`) and
/// FMAD (`fmad.*`) — in one module tree whose names the PyTorch twin shares (scripts/ssmsam_twin).
public struct SSMSAMModel: Module {
    public static let checkpointKeys = ["imageEncoder": "image_encoder", "config": ""]
    public let config: SSMSAMConfig
    public let imageEncoder: any SAMImageEncoder
    public let adapter: ViTAdapters?
    public let levels: [LevelProjection]
    public let sampler: SelfSampler
    public let fmad: FMAD
    /// Recompute each encoder block in the backward pass (memory of one block's graph), when gradients
    /// flow through the encoder to the adapters.
    public var recomputeEncoderBlocks = true

    /// The prefixes of the frozen base and of the trainable heads, as named groups of the tree.
    public static let basePrefix = "image_encoder"
    public static let headPrefixes = ["adapter", "levels", "sampler", "fmad"]

    /// A model on `base`'s image encoder (shared, frozen) with fresh heads (placeholders: `initializeHeads`).
    public init(base: SAMModel, config: SSMSAMConfig) throws {
        guard base.config == config.base else {
            throw ToolkitError(.mismatch, subject: "SSM-SAM config", "its base architecture differs from the base model's")
        }
        self.init(encoder: base.imageEncoder, config: config)
    }

    /// A model of a configuration with placeholder values everywhere (load a checkpoint or initialise).
    public init(config: SSMSAMConfig) {
        self.init(encoder: SAMModel(config: config.base).imageEncoder, config: config)
    }

    private init(encoder: any SAMImageEncoder, config c: SSMSAMConfig) {
        config = c
        imageEncoder = encoder
        let e = c.base.encoder, ch = c.channels
        if c.base.kind == .vit && c.adapters {
            adapter = ViTAdapters(embedDim: e.embedDim, width: c.adapterWidth, depth: e.depth, patchSize: e.patchSize)
        } else {
            adapter = nil
        }
        if c.base.kind == .tinyViT, let t = c.base.tinyViT {
            levels = (0..<3).map { LevelProjection(inChannels: t.embedDims[$0], channels: ch) }
        } else {
            levels = []
        }
        sampler = SelfSampler(channels: ch, inputSize: e.imageSize, layers: c.samplerLayers, queries: c.globalQueries,
                              heads: c.samplerHeads, mlpHidden: c.samplerMLP)
        fmad = FMAD(channels: ch, width: c.headWidth, blocks: c.fmad ? c.fmadBlocks : 0, temperature: c.temperature,
                    keys: c.fmadKeys)
        freeze([Self.basePrefix])
    }

    /// Side of the feature grid.
    public var grid: Int { config.base.encoder.gridSize }

    /// Initialises the heads from `seed` (the base keeps its weights).
    public func initializeHeads(seed: UInt64) throws {
        let names = Set(namedTensors().map(\.name).filter { n in Self.headPrefixes.contains { n.hasPrefix($0 + ".") } })
        try initialize(seed: seed, only: names)
    }

    /// The four feature levels (1, C, G, G) of a preprocessed image (1, 3, S, S), shallow to deep.
    /// `highPass`: the image's high-pass feature when already computed (default: `image.highPassFiltered()`).
    public func featureLevels(_ image: Tensor, highPass: Tensor? = nil) -> [Variable] {
        if let vit = imageEncoder as? ImageEncoderViT, let adapter {
            let patch = vit.patchTokens(Variable(image))
            let prompts = adapter.prompts(patchTokens: patch, highPass: highPass ?? image.highPassFiltered())
            let pass = vit.blocks(patch, injection: { prompts[$0] }, taps: config.vitTaps, recompute: recomputeEncoderBlocks)
            return pass.taps.map { vit.neck(tokens: $0) }
        }
        return levels(fromFrozen: frozenFeatures(image).map { Variable($0) })
    }

    /// The part of the features that no trainable parameter touches (the cheap path caches it): without
    /// adapters, the ViT's four neck outputs; for TinyViT, stages 0-2 block-averaged to the grid and the
    /// neck on stage 3. Computed without a graph.
    public func frozenFeatures(_ image: Tensor) -> [Tensor] {
        precondition(adapter == nil, "with adapters every feature depends on trainable parameters: use featureLevels")
        return Variable.noGrad {
            switch imageEncoder {
            case let vit as ImageEncoderViT:
                let pass = vit.blocks(vit.patchTokens(Variable(image)), taps: config.vitTaps)
                return pass.taps.map { vit.neck(tokens: $0).value }
            case let tiny as ImageEncoderTinyViT:
                let stages = tiny.blocks(Variable(image), taps: tiny.stageEnds).taps
                return stages.prefix(3).map { LevelProjection.pooled(tokens: $0, grid: grid).value } + [tiny.neck(tokens: stages[3]).value]
            default:
                preconditionFailure("SSM-SAM supports ViT and TinyViT encoders")
            }
        }
    }

    /// The levels from frozen features: TinyViT's projections on levels 0-2; the ViT's are the features.
    public func levels(fromFrozen features: [Variable]) -> [Variable] {
        precondition(features.count == 4, "expected 4 frozen features, got \(features.count)")
        return zip(levels, features).map { $0($1) } + features.dropFirst(levels.count)
    }

    /// Logits (1, 1, 4G, 4G) for the query, from the query's and the support's feature levels, the support
    /// mask (1, 1, S, S) in the input frame and points sampled from it. The query's label is not an input.
    public func logits(query: [Variable], support: [Variable], supportMask: Tensor, points: [SamplerPoint]) -> Variable {
        var q = query
        q[0] = sampler(q[0], points: points)
        let prior = SupportMaskPrior.make(mask: supportMask, grid: grid, sigma: config.maskSigma)
        return fmad(query: q, support: support, prior: prior)
    }
}
