import Diagnostics
import Formats

/// The two naming conventions of SAM's tensors.
public enum NameConvention: String, CaseIterable, Sendable {
    /// segment_anything's (`image_encoder.blocks.0.norm1.weight`), the toolkit's own.
    case official
    /// transformers' `SamModel` (`vision_encoder.layers.0.layer_norm1.weight`).
    case huggingFace = "hf"
}

/// Hugging Face `transformers` `SamModel` checkpoints use other names for the same tensors. One table maps
/// between the official segment-anything names and SamModel's, read in either direction (the rules of
/// transformers' `convert_sam_to_hf.py`, and their inverse).
public enum HuggingFaceNames {
    /// Official prefix and SamModel prefix, compared a dotted component at a time; `#` stands for a number that
    /// is carried across. The longest matching prefix wins, so a block's norms come before the block.
    static let table: [(official: String, hf: String)] = [
        ("image_encoder.patch_embed.proj", "vision_encoder.patch_embed.projection"),
        ("image_encoder.blocks.#.norm1", "vision_encoder.layers.#.layer_norm1"),
        ("image_encoder.blocks.#.norm2", "vision_encoder.layers.#.layer_norm2"),
        ("image_encoder.blocks", "vision_encoder.layers"),
        ("image_encoder.neck.0", "vision_encoder.neck.conv1"),
        ("image_encoder.neck.1", "vision_encoder.neck.layer_norm1"),
        ("image_encoder.neck.2", "vision_encoder.neck.conv2"),
        ("image_encoder.neck.3", "vision_encoder.neck.layer_norm2"),
        ("image_encoder", "vision_encoder"),
        ("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", "shared_image_embedding.positional_embedding"),
        ("prompt_encoder.point_embeddings", "prompt_encoder.point_embed"),
        ("prompt_encoder.mask_downscaling.0", "prompt_encoder.mask_embed.conv1"),
        ("prompt_encoder.mask_downscaling.1", "prompt_encoder.mask_embed.layer_norm1"),
        ("prompt_encoder.mask_downscaling.3", "prompt_encoder.mask_embed.conv2"),
        ("prompt_encoder.mask_downscaling.4", "prompt_encoder.mask_embed.layer_norm2"),
        ("prompt_encoder.mask_downscaling.6", "prompt_encoder.mask_embed.conv3"),
        ("mask_decoder.transformer.layers.#.norm1", "mask_decoder.transformer.layers.#.layer_norm1"),
        ("mask_decoder.transformer.layers.#.norm2", "mask_decoder.transformer.layers.#.layer_norm2"),
        ("mask_decoder.transformer.layers.#.norm3", "mask_decoder.transformer.layers.#.layer_norm3"),
        ("mask_decoder.transformer.layers.#.norm4", "mask_decoder.transformer.layers.#.layer_norm4"),
        ("mask_decoder.transformer.norm_final_attn", "mask_decoder.transformer.layer_norm_final_attn"),
        ("mask_decoder.output_upscaling.0", "mask_decoder.upscale_conv1"),
        ("mask_decoder.output_upscaling.1", "mask_decoder.upscale_layer_norm"),
        ("mask_decoder.output_upscaling.3", "mask_decoder.upscale_conv2"),
    ]
    /// SamModel's MLP heads: official `layers.0 ... layers.(D-1)` are `proj_in`, `layers.0 ... layers.(D-3)`, `proj_out`.
    static let heads = ["mask_decoder.iou_prediction_head", "mask_decoder.output_hypernetworks_mlps.#"]
    /// SamModel ties `prompt_encoder.shared_embedding.positional_embedding` to the Fourier matrix that
    /// `save_pretrained` keeps as `shared_image_embedding.positional_embedding`; either copy is accepted.
    static let tiedCopy = ("prompt_encoder.shared_embedding.positional_embedding", "shared_image_embedding.positional_embedding")

    /// Whether a state dict uses the `SamModel` names.
    public static func applies(to dict: StateDict) -> Bool {
        dict.names.contains { $0.hasPrefix("vision_encoder.") || $0.hasPrefix("shared_image_embedding.") }
    }

    /// The convention a state dict's names follow.
    public static func convention(of dict: StateDict) -> NameConvention { applies(to: dict) ? .huggingFace : .official }

    /// The state dict with official names (unchanged when it already has them).
    public static func toOfficial(_ dict: StateDict) -> StateDict {
        guard applies(to: dict) else { return dict }
        let depth = headDepths(dict, side: .huggingFace)
        var out = StateDict()
        for (name, tensor) in dict.entries {
            let canonical = name == tiedCopy.0 ? tiedCopy.1 : name
            let official = rename(canonical, from: .huggingFace, headDepth: depth)
            if out[official] == nil || canonical == name { out[official] = tensor }
        }
        return out
    }

    /// The state dict with `SamModel` names, as `save_pretrained` writes them (one copy of the tied Fourier
    /// matrix); unchanged when it already has them. A TinyViT (MobileSAM) encoder has no SamModel names.
    public static func toHuggingFace(_ dict: StateDict, file: String) throws -> StateDict {
        guard !applies(to: dict) else { return dict }
        if dict["image_encoder.patch_embed.seq.0.c.weight"] != nil {
            throw ToolkitError(.unsupported, subject: file, "a TinyViT (MobileSAM) image encoder has no transformers SamModel names; keep the official ones (--names official)")
        }
        let depth = headDepths(dict, side: .official)
        var out = StateDict()
        for (name, tensor) in dict.entries { out[rename(name, from: .official, headDepth: depth)] = tensor }
        return out
    }

    /// The state dict in the given convention.
    public static func convert(_ dict: StateDict, to convention: NameConvention, file: String) throws -> StateDict {
        convention == .official ? toOfficial(dict) : try toHuggingFace(dict, file: file)
    }

    /// The official name of one `SamModel` name (MLP heads of `headDepth` layers).
    public static func officialName(_ name: String, headDepth: Int = 3) -> String {
        rename(name == tiedCopy.0 ? tiedCopy.1 : name, from: .huggingFace) { _ in headDepth }
    }

    /// The `SamModel` name of one official name (MLP heads of `headDepth` layers).
    public static func huggingFaceName(_ name: String, headDepth: Int = 3) -> String {
        rename(name, from: .official) { _ in headDepth }
    }

    // MARK: - The table, read in one direction

    /// `name` in the other convention; names the table does not know are kept.
    static func rename(_ name: String, from side: NameConvention, headDepth: (String) -> Int) -> String {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if let n = headPrefixLength(parts),
           let r = rename(head: parts, prefix: n, depth: headDepth(parts.prefix(n).joined(separator: ".")), from: side) { return r }
        return renamed(parts, from: side) ?? name
    }

    /// The table's longest rule matching `parts`, applied; nil when none matches.
    private static func renamed(_ parts: [String], from side: NameConvention) -> String? {
        var best: (length: Int, result: [String])? = nil
        for rule in table {
            let (source, target) = side == .official ? (rule.official, rule.hf) : (rule.hf, rule.official)
            let pattern = source.split(separator: ".").map(String.init)
            guard pattern.count <= parts.count, pattern.count > (best?.length ?? 0) else { continue }
            var numbers: [String] = []
            let matches = zip(pattern, parts).allSatisfy { p, n in
                if p == "#" { numbers.append(n); return !n.isEmpty && n.allSatisfy(\.isNumber) }
                return p == n
            }
            guard matches else { continue }
            var it = numbers.makeIterator()
            let head = target.split(separator: ".").map { $0 == "#" ? (it.next() ?? "#") : String($0) }
            best = (pattern.count, head + parts.dropFirst(pattern.count))
        }
        return best?.result.joined(separator: ".")
    }

    /// The number of components of the MLP-head prefix `parts` starts with, if any.
    private static func headPrefixLength(_ parts: [String]) -> Int? {
        for h in heads {
            let pattern = h.split(separator: ".").map(String.init)
            if parts.count > pattern.count,
               zip(pattern, parts).allSatisfy({ p, n in p == "#" ? !n.isEmpty && n.allSatisfy(\.isNumber) : p == n }) { return pattern.count }
        }
        return nil
    }

    /// One MLP head's layer, renamed: official `layers.K` <-> `proj_in` / `layers.(K-1)` / `proj_out`.
    private static func rename(head parts: [String], prefix n: Int, depth: Int, from side: NameConvention) -> String? {
        let rest = Array(parts.dropFirst(n))
        var layer: [String]
        switch side {
        case .official:
            guard rest.count >= 2, rest[0] == "layers", let k = Int(rest[1]) else { return nil }
            layer = k == 0 ? ["proj_in"] : (k == depth - 1 ? ["proj_out"] : ["layers", String(k - 1)])
            layer += rest.dropFirst(2)
        case .huggingFace:
            if rest.first == "proj_in" { layer = ["layers", "0"] + rest.dropFirst() }
            else if rest.first == "proj_out" { layer = ["layers", String(depth - 1)] + rest.dropFirst() }
            else if rest.count >= 2, rest[0] == "layers", let k = Int(rest[1]) { layer = ["layers", String(k + 1)] + rest.dropFirst(2) }
            else { return nil }
        }
        return (Array(parts.prefix(n)) + layer).joined(separator: ".")
    }

    /// Each MLP head's depth (keyed by its concrete prefix, e.g. `mask_decoder.output_hypernetworks_mlps.0`), from
    /// the names of one convention: official `layers.K` count; SamModel `proj_in`, `layers.K`, `proj_out`.
    private static func headDepths(_ dict: StateDict, side: NameConvention) -> (String) -> Int {
        var layers: [String: Set<String>] = [:]
        for name in dict.names {
            let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard let n = headPrefixLength(parts) else { continue }
            let prefix = parts.prefix(n).joined(separator: ".")
            layers[prefix, default: []].formUnion(parts.count > n + 1 && parts[n] == "layers" ? [parts[n + 1]] : [])
        }
        return { prefix in layers[prefix].map { $0.count + (side == .official ? 0 : 2) } ?? 3 }
    }
}
