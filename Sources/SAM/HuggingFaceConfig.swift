import Diagnostics
import Foundation

/// transformers' `SamConfig`, the `config.json` of a `save_pretrained` folder, and its translation to and from
/// `SAMConfig`. Reading applies transformers' defaults to absent fields (as `SamConfig` does) and refuses values
/// the toolkit does not implement, naming the field; writing gives every field `save_pretrained` writes.
public struct HuggingFaceConfig: Codable, Equatable, Sendable {
    /// An int, or a [height, width] pair (transformers accepts both for image and patch sizes).
    public struct Size: Codable, Equatable, Sendable {
        public var values: [Int]
        public init(_ v: Int) { values = [v] }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let v = try? c.decode(Int.self) { values = [v] } else { values = try c.decode([Int].self) }
        }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            if values.count == 1 { try c.encode(values[0]) } else { try c.encode(values) }
        }
    }
    public struct Vision: Codable, Equatable, Sendable {
        public var model_type: String? = "sam_vision_model"
        public var hidden_size: Int? = 768, output_channels: Int? = 256, num_hidden_layers: Int? = 12, num_attention_heads: Int? = 12
        public var num_channels: Int? = 3, image_size: Size? = Size(1024), patch_size: Size? = Size(16)
        public var hidden_act: String? = "gelu", layer_norm_eps: Double? = 1e-6, attention_dropout: Double? = 0, initializer_range: Double? = 1e-10
        public var qkv_bias: Bool? = true, mlp_ratio: Double? = 4, use_abs_pos: Bool? = true, use_rel_pos: Bool? = true
        public var window_size: Int? = 14, global_attn_indexes: [Int]? = [2, 5, 8, 11], num_pos_feats: Int? = 128
        public var mlp_dim: Int? = nil, scale: Int? = nil
        public init() {}
    }
    public struct PromptEncoder: Codable, Equatable, Sendable {
        public var model_type: String? = "sam_prompt_encoder"
        public var hidden_size: Int? = 256, image_size: Size? = Size(1024), patch_size: Size? = Size(16), mask_input_channels: Int? = 16
        public var num_point_embeddings: Int? = 4, hidden_act: String? = "gelu", layer_norm_eps: Double? = 1e-6, image_embedding_size: Int? = nil
        public init() {}
    }
    public struct MaskDecoder: Codable, Equatable, Sendable {
        public var model_type: String? = "sam_mask_decoder"
        public var hidden_size: Int? = 256, hidden_act: String? = "relu", mlp_dim: Int? = 2048, num_hidden_layers: Int? = 2
        public var num_attention_heads: Int? = 8, attention_downsample_rate: Int? = 2, num_multimask_outputs: Int? = 3
        public var iou_head_depth: Int? = 3, iou_head_hidden_dim: Int? = 256, layer_norm_eps: Double? = 1e-6
        public init() {}
    }

    public var architectures: [String]? = ["SamModel"]
    public var model_type: String?
    public var dtype: String? = "float32"
    public var initializer_range: Double? = 0.02
    public var tie_word_embeddings: Bool? = true
    public var vision_config: Vision?
    public var prompt_encoder_config: PromptEncoder?
    public var mask_decoder_config: MaskDecoder?
    public init() {}

    /// Whether a JSON object is a transformers SAM config (`model_type` "sam").
    public static func isSAM(_ json: Data) -> Bool {
        struct Probe: Decodable { let model_type: String? }
        return (try? JSONDecoder().decode(Probe.self, from: json))?.model_type == "sam"
    }

    /// Reads a transformers `config.json`; `file` names it in errors.
    public static func read(_ data: Data, file: String) throws -> HuggingFaceConfig {
        let c: HuggingFaceConfig
        do { c = try JSONDecoder().decode(HuggingFaceConfig.self, from: data) } catch {
            throw ToolkitError(.invalidFile, subject: file, "not a transformers SamConfig: \(error)")
        }
        guard c.model_type == "sam" else {
            throw ToolkitError(.unsupported, subject: file, "model_type is \(c.model_type.map { "'\($0)'" } ?? "absent"), expected 'sam' (transformers' SamModel)")
        }
        return c
    }

    /// The toolkit's architecture. Fields transformers would default are defaulted the same way.
    public func samConfig(file: String) throws -> SAMConfig {
        let v = vision_config ?? Vision(), p = prompt_encoder_config ?? PromptEncoder(), d = mask_decoder_config ?? MaskDecoder()
        func need<T: Equatable>(_ field: String, _ value: T?, _ expected: T) throws {
            if let value, value != expected {
                throw ToolkitError(.unsupported, subject: file, "\(field) is \(value), the toolkit implements only \(expected)")
            }
        }
        func square(_ field: String, _ s: Size?, _ fallback: Int) throws -> Int {
            guard let s else { return fallback }
            guard let first = s.values.first, s.values.allSatisfy({ $0 == first }), s.values.count <= 2 else {
                throw ToolkitError(.unsupported, subject: file, "\(field) is \(s.values), the toolkit implements square sizes only")
            }
            return first
        }
        var c = SAMConfig()
        c.encoder.embedDim = v.hidden_size ?? 768
        c.encoder.depth = v.num_hidden_layers ?? 12
        c.encoder.heads = v.num_attention_heads ?? 12
        c.encoder.mlpDim = v.mlp_dim ?? Int(Double(c.encoder.embedDim) * (v.mlp_ratio ?? 4))
        c.encoder.imageSize = try square("vision_config.image_size", v.image_size, 1024)
        c.encoder.patchSize = try square("vision_config.patch_size", v.patch_size, 16)
        c.encoder.windowSize = v.window_size ?? 14
        c.encoder.globalAttentionBlocks = v.global_attn_indexes ?? [2, 5, 8, 11]
        c.encoder.outChannels = v.output_channels ?? 256
        c.encoder.layerNormEps = v.layer_norm_eps ?? 1e-6
        try need("vision_config.num_channels", v.num_channels, 3)
        try need("vision_config.hidden_act", v.hidden_act, "gelu")
        try need("vision_config.qkv_bias", v.qkv_bias, true)
        try need("vision_config.use_abs_pos", v.use_abs_pos, true)
        try need("vision_config.use_rel_pos", v.use_rel_pos, true)

        c.decoder.promptDim = p.hidden_size ?? 256
        c.decoder.maskInChannels = p.mask_input_channels ?? 16
        try need("prompt_encoder_config.image_size", try square("prompt_encoder_config.image_size", p.image_size, c.encoder.imageSize), c.encoder.imageSize)
        try need("prompt_encoder_config.patch_size", try square("prompt_encoder_config.patch_size", p.patch_size, c.encoder.patchSize), c.encoder.patchSize)
        try need("prompt_encoder_config.num_point_embeddings", p.num_point_embeddings, 4)
        try need("prompt_encoder_config.hidden_act", p.hidden_act, "gelu")
        try need("prompt_encoder_config.layer_norm_eps", p.layer_norm_eps, 1e-6)
        try need("vision_config.num_pos_feats", v.num_pos_feats ?? 128, c.decoder.promptDim / 2)

        try need("mask_decoder_config.hidden_size", d.hidden_size ?? 256, c.decoder.promptDim)
        c.decoder.mlpDim = d.mlp_dim ?? 2048
        c.decoder.transformerDepth = d.num_hidden_layers ?? 2
        c.decoder.heads = d.num_attention_heads ?? 8
        c.decoder.attentionDownsample = d.attention_downsample_rate ?? 2
        c.decoder.multimaskOutputs = d.num_multimask_outputs ?? 3
        c.decoder.iouHeadDepth = d.iou_head_depth ?? 3
        c.decoder.iouHeadHidden = d.iou_head_hidden_dim ?? 256
        c.decoder.layerNormEps = d.layer_norm_eps ?? 1e-6
        try need("mask_decoder_config.hidden_act", d.hidden_act, "relu")
        c.preset = SAMConfig.presetName(of: c)
        try c.check(file: file)
        return c
    }

    /// The transformers config of a ViT architecture, every field as `save_pretrained` writes it. A TinyViT
    /// (MobileSAM) encoder has no SamModel equivalent.
    public init(_ c: SAMConfig, dtype: String = "float32", file: String) throws {
        guard c.kind == .vit else {
            throw ToolkitError(.unsupported, subject: file, "a TinyViT (MobileSAM) image encoder has no transformers SamModel equivalent")
        }
        let e = c.encoder, d = c.decoder
        var v = Vision()
        (v.hidden_size, v.output_channels, v.num_hidden_layers, v.num_attention_heads) = (e.embedDim, e.outChannels, e.depth, e.heads)
        (v.image_size, v.patch_size, v.window_size, v.global_attn_indexes) = (Size(e.imageSize), Size(e.patchSize), e.windowSize, e.globalAttentionBlocks)
        (v.mlp_dim, v.mlp_ratio, v.layer_norm_eps) = (e.mlpDim, Double(e.mlpDim) / Double(max(e.embedDim, 1)), e.layerNormEps)
        (v.num_pos_feats, v.scale) = (d.promptDim / 2, e.embedDim / 2)
        var p = PromptEncoder()
        (p.hidden_size, p.image_size, p.patch_size, p.mask_input_channels) = (d.promptDim, Size(e.imageSize), Size(e.patchSize), d.maskInChannels)
        p.image_embedding_size = e.gridSize
        var m = MaskDecoder()
        (m.hidden_size, m.mlp_dim, m.num_hidden_layers, m.num_attention_heads) = (d.promptDim, d.mlpDim, d.transformerDepth, d.heads)
        (m.attention_downsample_rate, m.num_multimask_outputs, m.iou_head_depth) = (d.attentionDownsample, d.multimaskOutputs, d.iouHeadDepth)
        (m.iou_head_hidden_dim, m.layer_norm_eps) = (d.iouHeadHidden, d.layerNormEps)
        self.init()
        (model_type, self.dtype, vision_config, prompt_encoder_config, mask_decoder_config) = ("sam", dtype, v, p, m)
    }
}

extension HuggingFaceConfig {
    /// The fields transformers' strict dataclasses type as float.
    static let floatFields = ["mlp_ratio", "layer_norm_eps", "initializer_range", "attention_dropout"]

    /// JSON text with the float fields written as Python floats: JSONEncoder writes 2.0 as `2`, which
    /// transformers' strict `SamVisionConfig` refuses for `mlp_ratio` ("expected float, got int").
    public static func pythonFloats(_ json: Data) -> Data {
        var text = String(decoding: json, as: UTF8.self)
        for field in floatFields {
            text = text.replacingOccurrences(of: "(\"\(field)\"\\s*:\\s*-?[0-9]+)(?=\\s*[,}\\n])", with: "$1.0", options: .regularExpression)
        }
        return Data(text.utf8)
    }
}

extension SAMConfig {
    /// The preset `c` is (the LayerNorm eps aside, which transformers' copies of the presets change), or nil.
    static func presetName(of c: SAMConfig) -> String? {
        var me = c
        me.preset = nil
        for name in presetNames {
            guard var p = preset(name) else { continue }
            p.preset = nil
            (p.encoder.layerNormEps, p.decoder.layerNormEps) = (me.encoder.layerNormEps, me.decoder.layerNormEps)
            if p == me { return name }
        }
        return nil
    }
}
