import Diagnostics
import Foundation
import Formats

/// SAM's weights recovered from ONNX exports, by the graph's structure.
///
/// Reads an image-encoder export (`torch.onnx.export(sam.image_encoder, ...)`) and an export of
/// `segment_anything.utils.onnx.SamOnnxModel` (prompt encoder and mask decoder), made by either of torch's
/// exporters (TorchScript, `dynamo=False`; dynamo, the default). After `ONNXNameMapper`'s generic renaming:
///
/// - names are made official: `model.` dropped, a bare module root prefixed by its part (`blocks.0.*` ->
///   `image_encoder.blocks.0.*`, `transformer.*` -> `mask_decoder.transformer.*`, `pe_layer.*` -> `prompt_encoder.pe_layer.*`);
/// - a `LayerNorm2d`'s (C, 1, 1) weight (a Mul) and bias (the Add after it) without a module scope are named
///   after the nearest upstream Conv or ConvTranspose `P.K`: `P.(K+1).weight` / `.bias`;
/// - folded relative-position tables (the dynamo exporter stores `rel_pos[q - k + size - 1]`, (size, size, C),
///   as an Einsum input) become `image_encoder.blocks.N.attn.rel_pos_h` / `_w` again: the block from the
///   nearest upstream `qkv` weight, h or w from the einsum's equation; every copy of a row must agree;
/// - SamOnnxModel's folded `no_mask_embed.weight.reshape(1, C, 1, 1)` (a Mul) and the output tokens
///   `cat(iou_token, mask_tokens)` (1, T, C) (an Expand or Concat) are split back.
///
/// Derived tensors are dropped: the dense positional encoding and its coordinate grid (recomputed from
/// the gaussian matrix, which the export keeps for the points) and the mask-selection weights (1, K).
public enum SAMONNXImport {
    /// Recovered weights (official names) and the floating-point tensors that could not be placed.
    public struct Result {
        public var weights: StateDict
        /// Anonymous tensors with more than one value that no rule placed (`name [shape]`).
        public var unmatched: [String]
        /// Whether the export holds the image encoder, and the prompt encoder + mask decoder.
        public var hasEncoder: Bool { weights["image_encoder.patch_embed.proj.weight"] != nil || weights["image_encoder.patch_embed.seq.0.c.weight"] != nil }
        public var hasDecoder: Bool { weights["mask_decoder.iou_prediction_head.layers.0.weight"] != nil && weights["prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"] != nil }
    }

    static let roots: [String: String] = {
        var r: [String: String] = [:]
        for k in ["patch_embed", "pos_embed", "blocks", "neck", "layers", "norm_head", "head"] { r[k] = "image_encoder" }
        for k in ["pe_layer", "point_embeddings", "not_a_point_embed", "mask_downscaling", "no_mask_embed"] { r[k] = "prompt_encoder" }
        for k in ["transformer", "iou_token", "mask_tokens", "output_upscaling", "output_hypernetworks_mlps", "iou_prediction_head"] { r[k] = "mask_decoder" }
        return r
    }()

    /// Reads and recovers `url`; a file that is no SAM export is one short error naming what was found.
    public static func read(_ url: URL) throws -> Result {
        let result = try recover(try ONNXReader.graph(url))
        guard result.hasEncoder || result.hasDecoder else {
            let names = result.weights.names.filter { !ONNXNameMapper.isAnonymous($0) }
            let shown = names.prefix(10).joined(separator: ", ") + (names.count > 10 ? ", ... (\(names.count - 10) more)" : "")
            throw ToolkitError(.mismatch, subject: url.path, "not an ONNX export of SAM: expected the image encoder's weights (patch_embed.proj.weight, blocks.N.*) "
                + "or SamOnnxModel's prompt encoder and mask decoder; found \(names.count) named weights" + (names.isEmpty ? "" : ": " + shown))
        }
        return result
    }

    /// The weights of any ONNX file: SAM's official names where the graph is a SAM export (`recovered`), else
    /// the generic names of `ONNXNameMapper`, so that other models convert as before.
    public static func weightsOrGeneric(_ url: URL) throws -> (weights: StateDict, unmatched: [String], recovered: Bool) {
        let graph = try ONNXReader.graph(url)
        let r = try recover(graph)
        if r.hasEncoder || r.hasDecoder { return (r.weights, r.unmatched, true) }
        return (try ONNXReader.weights(of: graph, url: url), [], false)
    }

    /// Official SAM names for the weights of `graph` (see the type's documentation).
    public static func recover(_ graph: ONNXGraph) throws -> Result {
        let mapped = ONNXNameMapper.map(graph)
        var names: [String: String] = [:]   // ONNX value name -> official name
        var out: [(String, StoredTensor)] = []
        var anonymous: [String: StoredTensor] = [:], order: [String] = []
        for ((original, _), (name, t)) in zip(graph.weights, mapped) {
            if ONNXNameMapper.isAnonymous(name) && roots[name] == nil {  // a top-level parameter (pos_embed) has no dot either
                if t.dtype.isFloatingPoint && t.count > 1 { anonymous[name] = t; order.append(name) }
                continue
            }
            let official = officialName(name)
            names[original] = official
            out.append((official, t))
        }
        func place(_ onnx: String, _ name: String, _ t: StoredTensor) {
            names[onnx] = name
            out.append((name, t))
            anonymous[onnx] = nil
        }
        // LayerNorm2d affines without a scope, named after the convolution before them.
        for onnx in order {
            guard let t = anonymous[onnx], ONNXNameMapper.isChannelAffine(t.shape) else { continue }
            for use in graph.consumers(of: onnx) where graph.nodes[use.node].opType == "Mul" {
                guard let conv = graph.upstream(of: use.node, where: { ["Conv", "ConvTranspose"].contains($0.opType) && $0.inputs.count > 1 && names[$0.inputs[1]] != nil }),
                      let module = nextInSequence(names[conv.inputs[1]]!) else { continue }
                place(onnx, module + ".weight", reshaped(t, [t.shape[0]]))
                let mulOut = graph.nodes[use.node].outputs.first ?? ""
                for add in graph.consumers(of: mulOut) where graph.nodes[add.node].opType == "Add" {
                    if let b = graph.nodes[add.node].inputs.first(where: { anonymous[$0].map { ONNXNameMapper.isChannelAffine($0.shape) } ?? false }) {
                        place(b, module + ".bias", reshaped(anonymous[b]!, [anonymous[b]!.shape[0]]))
                    }
                }
                break
            }
        }
        // Folded relative-position tables.
        for onnx in order {
            guard let t = anonymous[onnx], t.shape.count == 3, t.shape[0] == t.shape[1] else { continue }
            for use in graph.consumers(of: onnx) where graph.nodes[use.node].opType == "Einsum" {
                let node = graph.nodes[use.node]
                let operands = (node.strings["equation"] ?? "").split(separator: "-").first?.split(separator: ",") ?? []
                guard use.input < operands.count, let axis = operands[use.input].first, axis == "h" || axis == "w",
                      let qkv = graph.upstream(of: use.node, where: { $0.inputs.contains { names[$0].map { $0.hasSuffix(".attn.qkv.weight") || $0.hasSuffix(".attn.qkv.bias") } ?? false } }),
                      let qkvName = qkv.inputs.compactMap({ names[$0] }).first(where: { $0.contains(".attn.qkv.") }) else { continue }
                let attn = qkvName.components(separatedBy: ".qkv.")[0]
                place(onnx, "\(attn).rel_pos_\(axis)", try relativeTable(t, name: onnx))
                break
            }
        }
        // SamOnnxModel's folded prompt-encoder and decoder embeddings.
        let prompt = out.first { $0.0 == "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix" }?.1
        if let g = prompt, g.shape.count == 2 {
            let dim = 2 * g.shape[1]
            let noMask = order.filter { o in
                guard let t = anonymous[o] else { return false }
                return t.shape == [1, dim, 1, 1] && graph.consumers(of: o).contains { graph.nodes[$0.node].opType == "Mul" }
            }
            if noMask.count == 1, let t = anonymous[noMask[0]] { place(noMask[0], "prompt_encoder.no_mask_embed.weight", reshaped(t, [1, dim])) }
            let tokens = order.filter { o in
                guard let t = anonymous[o] else { return false }
                return t.shape.count == 3 && t.shape[0] == 1 && t.shape[1] >= 2 && t.shape[2] == dim
                    && graph.consumers(of: o).contains { ["Expand", "Concat"].contains(graph.nodes[$0.node].opType) }
            }
            if tokens.count == 1, let t = anonymous[tokens[0]] {
                let rowBytes = dim * t.dtype.byteSize, n = t.shape[1]
                place(tokens[0], "mask_decoder.iou_token.weight", StoredTensor(dtype: t.dtype, shape: [1, dim], bytes: t.bytes.prefix(rowBytes)))
                out.append(("mask_decoder.mask_tokens.weight", StoredTensor(dtype: t.dtype, shape: [n - 1, dim], bytes: Data(t.bytes.dropFirst(rowBytes)))))
            }
            // Derived: the dense positional encoding (1, HW, C) / (1, C, H, W), its grid (H, W, 2), the mask-selection weights (1, K).
            for o in order {
                guard let s = anonymous[o]?.shape else { continue }
                let dense = (s.count == 3 && s[0] == 1 && s[2] == dim) || (s.count == 4 && s[0] == 1 && s[1] == dim && s[2] == s[3])
                let grid = s.count == 3 && s[0] == s[1] && s[2] == 2
                let selection = s.count == 2 && s[0] == 1
                if dense || grid || selection { anonymous[o] = nil }
            }
        }
        var dict = StateDict()
        for (name, t) in out where dict[name] == nil { dict[name] = t }
        return Result(weights: dict, unmatched: order.compactMap { o in anonymous[o].map { "\(o) \($0.shape)" } })
    }

    /// `name` with `model.` dropped and a bare module root prefixed by its part of SAM.
    static func officialName(_ name: String) -> String {
        let n = name.hasPrefix("model.") ? String(name.dropFirst(6)) : name
        let root = String(n.prefix { $0 != "." })
        return roots[root].map { "\($0).\(n)" } ?? n
    }

    /// `P.(K+1)` for a weight named `P.K.weight` (the module after a convolution in a Sequential).
    static func nextInSequence(_ weight: String) -> String? {
        var parts = weight.split(separator: ".").map(String.init)
        guard parts.count >= 3, parts.last == "weight", let k = Int(parts[parts.count - 2]) else { return nil }
        parts.removeLast()
        parts[parts.count - 1] = String(k + 1)
        return parts.joined(separator: ".")
    }

    /// The (2S - 1, C) table behind a folded (S, S, C) `rel_pos[q - k + S - 1]`.
    static func relativeTable(_ t: StoredTensor, name: String) throws -> StoredTensor {
        let s = t.shape[0], c = t.shape[2], row = c * t.dtype.byteSize
        var out = Data(count: (2 * s - 1) * row), seen = [Bool](repeating: false, count: 2 * s - 1)
        try t.bytes.withUnsafeBytes { src in
            try out.withUnsafeMutableBytes { dst in
                for q in 0 ..< s { for k in 0 ..< s {
                    let r = q - k + s - 1
                    let from = UnsafeRawBufferPointer(rebasing: src[(q * s + k) * row ..< (q * s + k + 1) * row])
                    if seen[r] {
                        guard memcmp(dst.baseAddress! + r * row, from.baseAddress!, row) == 0 else {
                            throw ToolkitError(.invalidFile, subject: name, "a (\(s), \(s), \(c)) relative-position input whose rows differ along a diagonal: not a folded rel_pos table")
                        }
                    } else {
                        (dst.baseAddress! + r * row).copyMemory(from: from.baseAddress!, byteCount: row)
                        seen[r] = true
                    }
                } }
            }
        }
        return StoredTensor(dtype: t.dtype, shape: [2 * s - 1, c], bytes: out)
    }

    static func reshaped(_ t: StoredTensor, _ shape: [Int]) -> StoredTensor { StoredTensor(dtype: t.dtype, shape: shape, bytes: t.bytes) }
}
