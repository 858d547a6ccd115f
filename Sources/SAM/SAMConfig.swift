import Diagnostics
import Formats

/// The architecture of a SAM model: everything needed to build it, saved as JSON next to native weights.
public struct SAMConfig: Codable, Equatable, Sendable {
    /// ViT image encoder (`ImageEncoderViT`). A TinyViT model reads only `imageSize`, `patchSize` (the
    /// embedding's stride, 16) and `outChannels` from here; the rest is in `tinyViT`.
    public struct Encoder: Codable, Equatable, Sendable {
        public var imageSize = 1024, patchSize = 16, embedDim = 768, depth = 12, heads = 12
        public var mlpDim = 3072, windowSize = 14, globalAttentionBlocks = [2, 5, 8, 11], outChannels = 256
        /// The blocks' LayerNorm eps (norm1, norm2): 1e-6 in segment_anything and in transformers' `SamVisionConfig`.
        public var layerNormEps = 1e-6
        public init() {}
        /// Tokens per side (image size / patch size).
        public var gridSize: Int { imageSize / patchSize }
    }
    /// Prompt encoder and mask decoder.
    public struct Decoder: Codable, Equatable, Sendable {
        public var promptDim = 256, maskInChannels = 16, transformerDepth = 2, heads = 8, mlpDim = 2048
        public var attentionDownsample = 2, multimaskOutputs = 3, iouHeadDepth = 3, iouHeadHidden = 256
        /// The two-way blocks' LayerNorm eps (norm1 ... norm4): segment_anything's `nn.LayerNorm` default 1e-5;
        /// transformers' `SamMaskDecoderConfig.layer_norm_eps` is 1e-6, which its SAM checkpoints run with. The
        /// final norm (`norm_final_attn`) keeps 1e-5 in both.
        public var layerNormEps = 1e-5
        public init() {}
    }
    /// Which image encoder a model has.
    public enum EncoderKind: String, Codable, Equatable, Sendable {
        /// SAM's ViT (`ImageEncoderViT`), configured by `encoder`.
        case vit
        /// MobileSAM's TinyViT (`TinyViT`), configured by `tinyViT` (and `encoder.imageSize`, `patchSize`, `outChannels`).
        case tinyViT = "tiny_vit"
    }

    public var preset: String?
    public var encoder = Encoder()
    public var decoder = Decoder()
    /// The image encoder's kind; nil (configs written before TinyViT existed) means `.vit`.
    public var encoderKind: EncoderKind?
    /// TinyViT settings when `kind == .tinyViT` (nil otherwise).
    public var tinyViT: TinyViTEncoder?
    public init() {}

    /// The image encoder's kind, `.vit` unless stated.
    public var kind: EncoderKind { encoderKind ?? .vit }

    /// The names `preset(_:)` knows.
    public static let presetNames = ["vit_b", "vit_l", "vit_h", "mobile_sam"]

    /// vit_b / vit_l / vit_h as `segment_anything.build_sam` makes them; mobile_sam as MobileSAM's
    /// `build_mobile_sam` does (TinyViT-5M encoder, SAM's prompt encoder and mask decoder).
    public static func preset(_ name: String) -> SAMConfig? {
        var c = SAMConfig()
        c.preset = name
        switch name {
        case "mobile_sam":
            c.encoderKind = .tinyViT
            c.tinyViT = TinyViTEncoder()
            return c
        case "vit_b": (c.encoder.embedDim, c.encoder.depth, c.encoder.heads, c.encoder.globalAttentionBlocks) = (768, 12, 12, [2, 5, 8, 11])
        case "vit_l": (c.encoder.embedDim, c.encoder.depth, c.encoder.heads, c.encoder.globalAttentionBlocks) = (1024, 24, 16, [5, 11, 17, 23])
        case "vit_h": (c.encoder.embedDim, c.encoder.depth, c.encoder.heads, c.encoder.globalAttentionBlocks) = (1280, 32, 16, [7, 15, 23, 31])
        default: return nil
        }
        c.encoder.mlpDim = 4 * c.encoder.embedDim
        return c
    }

    /// Infers the architecture from a SAM state dict's shapes: a ViT or a TinyViT image encoder (by its
    /// key names), SAM's prompt encoder and mask decoder. Decoder heads cannot be seen in shapes: they
    /// are taken from `decoderHeads` (SAM's 8 by default). Neither can a TinyViT's input size, which is
    /// MobileSAM's 1024 (set `encoder.imageSize` afterwards for other models). Hugging Face `SamModel` names are
    /// read too; their mask decoder gets transformers' LayerNorm eps (1e-6), which such weights run with.
    public static func detect(from checkpoint: StateDict, file: String, decoderHeads: Int = 8) throws -> SAMConfig {
        let dict = HuggingFaceNames.toOfficial(checkpoint)
        let shape = shapeReader(dict, file: file)
        var c = try detectEncoder(from: dict, file: file)
        c.decoder.promptDim = try shape("prompt_encoder.point_embeddings.0.weight", 2)[1]
        c.decoder.maskInChannels = try shape("prompt_encoder.mask_downscaling.3.weight", 1)[0]
        c.decoder.transformerDepth = (0...).prefix { dict["mask_decoder.transformer.layers.\($0).norm1.weight"] != nil }.count
        c.decoder.mlpDim = try shape("mask_decoder.transformer.layers.0.mlp.lin1.weight", 1)[0]
        c.decoder.attentionDownsample = ratio(c.decoder.promptDim, try shape("mask_decoder.transformer.layers.0.cross_attn_token_to_image.q_proj.weight", 1)[0])
        c.decoder.multimaskOutputs = (try shape("mask_decoder.mask_tokens.weight", 1))[0] - 1
        c.decoder.iouHeadDepth = (0...).prefix { dict["mask_decoder.iou_prediction_head.layers.\($0).weight"] != nil }.count
        c.decoder.iouHeadHidden = try shape("mask_decoder.iou_prediction_head.layers.0.weight", 1)[0]
        c.decoder.heads = decoderHeads
        if HuggingFaceNames.applies(to: checkpoint) { c.decoder.layerNormEps = HuggingFaceConfig.MaskDecoder().layer_norm_eps ?? 1e-6 }
        c.preset = presetName(of: c)
        return c
    }

    /// The image encoder's architecture from `image_encoder.*` shapes alone (a file holding the encoder but no
    /// prompt encoder or mask decoder, such as an SSM-SAM model); the decoder settings are SAM's defaults.
    public static func detectEncoder(from checkpoint: StateDict, file: String) throws -> SAMConfig {
        let dict = HuggingFaceNames.toOfficial(checkpoint)
        let shape = shapeReader(dict, file: file)
        var c = SAMConfig()
        if dict["image_encoder.patch_embed.seq.0.c.weight"] != nil {
            c.encoderKind = .tinyViT
            c.tinyViT = try TinyViTEncoder.detect(from: dict, file: file, prefix: "image_encoder")
            c.encoder.outChannels = try shape("image_encoder.neck.0.weight", 1)[0]
        } else {
            try detectViT(&c, shape, dict)
        }
        return c
    }

    /// A tensor's shape by name (at least `rank` dimensions), or the error naming the missing tensor.
    private static func shapeReader(_ dict: StateDict, file: String) -> (String, Int) throws -> [Int] {
        { name, rank in
            guard let s = dict[name]?.shape else {
                throw ToolkitError(.mismatch, subject: file, "not a SAM checkpoint: no tensor '\(name)' (found \(dict.count) tensors, e.g. \(dict.names.prefix(3).joined(separator: ", ")))")
            }
            return try Self.atLeast(rank, s, name, file: file)
        }
    }

    /// The ViT encoder's settings from `image_encoder.*` shapes.
    private static func detectViT(_ c: inout SAMConfig, _ shape: (String, Int) throws -> [Int], _ dict: StateDict) throws {
        let patch = try shape("image_encoder.patch_embed.proj.weight", 3), pos = try shape("image_encoder.pos_embed", 2)
        c.encoder.embedDim = patch[0]
        c.encoder.patchSize = patch[2]
        c.encoder.imageSize = pos[1] * patch[2]
        c.encoder.depth = (0...).prefix { dict["image_encoder.blocks.\($0).norm1.weight"] != nil }.count
        let headDim = try shape("image_encoder.blocks.0.attn.rel_pos_h", 2)[1]
        c.encoder.heads = ratio(c.encoder.embedDim, headDim)
        c.encoder.mlpDim = try shape("image_encoder.blocks.0.mlp.lin1.weight", 1)[0]
        c.encoder.outChannels = try shape("image_encoder.neck.0.weight", 1)[0]
        let grid = pos[1]
        var windows: [Int] = [], global: [Int] = []
        for i in 0..<c.encoder.depth {
            let len = try shape("image_encoder.blocks.\(i).attn.rel_pos_h", 1)[0]
            if len == 2 * grid - 1 { global.append(i) } else { windows.append((len + 1) / 2) }
        }
        c.encoder.globalAttentionBlocks = global
        c.encoder.windowSize = windows.first ?? grid
    }
}

// Configs written before the LayerNorm eps fields existed decode with the official values; every other field
// stays required.
extension SAMConfig.Encoder {
    public init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        (imageSize, patchSize, embedDim) = (try c.decode(Int.self, forKey: .imageSize), try c.decode(Int.self, forKey: .patchSize), try c.decode(Int.self, forKey: .embedDim))
        (depth, heads, mlpDim) = (try c.decode(Int.self, forKey: .depth), try c.decode(Int.self, forKey: .heads), try c.decode(Int.self, forKey: .mlpDim))
        (windowSize, outChannels) = (try c.decode(Int.self, forKey: .windowSize), try c.decode(Int.self, forKey: .outChannels))
        globalAttentionBlocks = try c.decode([Int].self, forKey: .globalAttentionBlocks)
        layerNormEps = try c.decodeIfPresent(Double.self, forKey: .layerNormEps) ?? layerNormEps
    }
}

extension SAMConfig.Decoder {
    public init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        (promptDim, maskInChannels, transformerDepth) = (try c.decode(Int.self, forKey: .promptDim), try c.decode(Int.self, forKey: .maskInChannels),
                                                         try c.decode(Int.self, forKey: .transformerDepth))
        (heads, mlpDim, attentionDownsample) = (try c.decode(Int.self, forKey: .heads), try c.decode(Int.self, forKey: .mlpDim),
                                                try c.decode(Int.self, forKey: .attentionDownsample))
        (multimaskOutputs, iouHeadDepth, iouHeadHidden) = (try c.decode(Int.self, forKey: .multimaskOutputs), try c.decode(Int.self, forKey: .iouHeadDepth),
                                                           try c.decode(Int.self, forKey: .iouHeadHidden))
        layerNormEps = try c.decodeIfPresent(Double.self, forKey: .layerNormEps) ?? layerNormEps
    }
}
