import Formats

/// Hugging Face `transformers` `SamModel` checkpoints use other names for the same tensors; this table
/// maps them to the official segment-anything names (the inverse of transformers' own conversion rules).
public enum HuggingFaceNames {
    /// Whether a state dict uses the `SamModel` names.
    public static func applies(to dict: StateDict) -> Bool {
        dict.names.contains { $0.hasPrefix("vision_encoder.") || $0.hasPrefix("shared_image_embedding.") }
    }

    /// The state dict with official names (unchanged when it already has them).
    public static func toOfficial(_ dict: StateDict) -> StateDict {
        guard applies(to: dict) else { return dict }
        var out = StateDict()
        for (name, tensor) in dict.entries {
            guard let official = officialName(name) else { continue }
            out[official] = tensor
        }
        // save_pretrained may keep only one of the two tied copies of the Fourier matrix.
        let pe = "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"
        if out[pe] == nil, let shared = dict["shared_image_embedding.positional_embedding"] { out[pe] = shared }
        return out
    }

    /// The official name of one `SamModel` name; nil for the duplicate positional embedding.
    public static func officialName(_ name: String) -> String? {
        if name.hasPrefix("shared_image_embedding.") { return nil }  // a tied copy of the prompt encoder's (see toOfficial)
        var parts = name.split(separator: ".").map(String.init)
        func rename(_ table: [String: String], at i: Int) { if i < parts.count, let n = table[parts[i]] { parts[i] = n } }
        switch parts.first {
        case "vision_encoder":
            parts[0] = "image_encoder"
            if parts.count > 1 && parts[1] == "layers" {
                parts[1] = "blocks"
                rename(["layer_norm1": "norm1", "layer_norm2": "norm2"], at: 3)
            } else if parts.count > 2 && parts[1] == "patch_embed" {
                rename(["projection": "proj"], at: 2)
            } else if parts.count > 2 && parts[1] == "neck" {
                rename(["conv1": "0", "layer_norm1": "1", "conv2": "2", "layer_norm2": "3"], at: 2)
            }
        case "prompt_encoder":
            if parts.count > 1 && parts[1] == "shared_embedding" { return "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix" }
            rename(["point_embed": "point_embeddings"], at: 1)
            if parts.count > 2 && parts[1] == "mask_embed" {
                parts[1] = "mask_downscaling"
                rename(["conv1": "0", "layer_norm1": "1", "conv2": "3", "layer_norm2": "4", "conv3": "6"], at: 2)
            }
        case "mask_decoder":
            rename(["upscale_conv1": "output_upscaling.0", "upscale_layer_norm": "output_upscaling.1",
                    "upscale_conv2": "output_upscaling.3"], at: 1)
            // MLP heads: proj_in, layers.0, proj_out are the official layers.0, 1, 2.
            let head = parts.count > 1 && parts[1] == "iou_prediction_head" ? 2
                : (parts.count > 2 && parts[1] == "output_hypernetworks_mlps" ? 3 : nil)
            if let h = head, h < parts.count {
                if parts[h] == "proj_in" { parts[h] = "layers.0" }
                else if parts[h] == "proj_out" { parts[h] = "layers.2" }
                else if parts[h] == "layers", h + 1 < parts.count, let i = Int(parts[h + 1]) { parts[h + 1] = String(i + 1) }
            }
            if parts.count > 1 && parts[1] == "transformer" {
                parts = parts.map { $0.hasPrefix("layer_norm") ? String($0.dropFirst("layer_".count)) : $0 }
            }
        default: break
        }
        return parts.joined(separator: ".")
    }
}
