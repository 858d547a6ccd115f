import Foundation
import SAM

/// The model card (`README.md`) of a package, generated from its manifest alone so that it always says
/// what the manifest says: what the model is, how it was made, its metrics, how to use it, its license.
public enum ModelCard {
    /// The card as Markdown.
    public static func markdown(_ m: Manifest) -> String {
        var s = "# \(m.id) \(m.version)\n\n"
        if let d = m.description, !d.isEmpty { s += d + "\n\n" }
        s += "| | |\n|---|---|\n"
        s += "| kind | " + (m.kind == .base ? "base model (whole state dict)" : "delta on `\(m.base?.reference ?? "?")` (only the tensors it changes or adds)") + " |\n"
        s += "| architecture | \(architecture(m.architecture)) |\n"
        for (name, value) in [("organ", m.organ), ("modality", m.modality), ("dataset", m.dataset)] {
            s += "| \(name) | \(value ?? "not stated") |\n"
        }
        s += "| weights | `\(m.weights.path)`: \(m.weights.tensors) tensors, \(grouped(m.weights.parameters)) parameters |\n"
        s += "| license | \(m.license) |\n\n"

        s += "## How it was made\n\n"
        if let src = m.source {
            s += "Built by \(m.toolkit.name) \(m.toolkit.version) on \(m.created) from `\(src.file)` (\(src.format), \(grouped(src.size)) bytes, sha256 `\(src.sha256)`"
            s += (src.key.map { ", state dict at `\($0)`" } ?? "") + ").\n"
            if let url = src.url { s += "The original checkpoint is published at <\(url)>.\n" }
        } else {
            s += "Built by \(m.toolkit.name) \(m.toolkit.version) on \(m.created).\n"
        }
        if let b = m.base {
            s += "\nThis is a delta: load the base `\(b.reference)` (its `weights.safetensors` must have sha256 `\(b.sha256)`), "
            s += "then put in the \(m.weights.tensors) tensors of this package: \(m.weights.replaces ?? 0) replace base tensors of the same name, \(m.weights.adds ?? 0) are new.\n"
        }
        if let p = m.protocolSettings { s += "\nProtocol settings:\n\n" + table(p) }
        s += "\n## Metrics\n\n" + (m.metrics.map(table) ?? "None recorded (a base model or an untrained entry).\n")

        s += "\n## Golden check\n\n"
        s += "`golden/` holds a small synthetic CT-like slice (`input.png`), the prompts (`prompts.json`: a foreground point, multimask) "
        s += "and the low-res logits and IoU this package's publisher computed (`outputs.safetensors`), with the tolerance. "
        s += "`ssmsam zoo verify \(m.reference) --numbers` recomputes them\(m.kind == .delta ? " (base weights + delta)" : "") and compares.\n"

        s += "\n## How to use\n\n```sh\n"
        s += "ssmsam zoo install \(tarName(m))      # or the package folder; verifies before it lands\n"
        s += "ssmsam zoo verify \(m.reference) --numbers\n"
        s += "ssmsam zoo export \(m.reference) --hf DIR   # config.json + model.safetensors + README.md\n"
        s += "```\n\nFrom Swift:\n\n```swift\nimport Zoo\n"
        s += "let registry = Registry()\nlet model = try registry.model(try ModelReference(parsing: \"\(m.reference)\"))\n```\n"
        if m.kind == .delta, let b = m.base { s += "\nThe base `\(b.reference)` must be installed first.\n" }

        s += "\n## License\n\n\(m.license)\n\n## Files\n\n"
        if m.files.isEmpty {
            s += "Listed with sizes and sha256 in `manifest.json`.\n"
        } else {
            s += "| file | bytes | sha256 |\n|---|---:|---|\n"
            for f in m.files { s += "| `\(f.path)` | \(grouped(f.size)) | `\(f.sha256.prefix(16))…` |\n" }
        }
        return s
    }

    /// The archive name `pack` suggests: the id with `/` as `_`, then `-VERSION.tar`.
    public static func tarName(_ m: Manifest) -> String { m.id.replacingOccurrences(of: "/", with: "_") + "-\(m.version).tar" }

    static func architecture(_ c: SAMConfig) -> String {
        let e = c.encoder
        // Presets other than SAM's ViTs (e.g. mobile_sam's TinyViT) keep their encoder settings elsewhere.
        if let p = c.preset, !p.hasPrefix("vit_") {
            return "\(p): image \(e.imageSize) px; decoder dim \(c.decoder.promptDim), \(c.decoder.heads) heads"
        }
        let name = c.preset.map { "SAM \($0)" } ?? "SAM ViT"
        return "\(name): image \(e.imageSize) px, patch \(e.patchSize), embed \(e.embedDim), depth \(e.depth), \(e.heads) heads; "
            + "decoder dim \(c.decoder.promptDim), \(c.decoder.heads) heads"
    }

    static func table(_ v: JSONValue) -> String {
        guard case .object(let o) = v else { return v.text + "\n" }
        var s = "| key | value |\n|---|---|\n"
        for k in o.keys.sorted() { s += "| \(k) | \(o[k]!.text) |\n" }
        return s
    }

    static func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(d)
        }
        return out
    }
}
