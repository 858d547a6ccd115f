import Foundation

/// The model card (`README.md`) of an SSM-SAM package: Hugging-Face-style YAML front matter (license,
/// base_model, tags, datasets, metrics, model-index), then what the package is, how it was trained, its
/// results, its golden check and how to use it, all from the manifest and the record.
public enum SSMSAMCard {
    public static func markdown(_ m: Manifest) -> String {
        let organ = m.organ ?? "not stated"
        var s = "---\n"
        s += "license: \(yaml(m.license))\nlibrary_name: ssmsam\n"
        s += "base_model: \(yaml(m.base?.reference ?? ""))\n"
        s += "pipeline_tag: image-segmentation\n"
        s += "tags:\n" + ["ssm-sam", "segment-anything", "few-shot", "meta-learning", "medical-imaging", m.modality ?? "", m.organ ?? ""]
            .filter { !$0.isEmpty }.map { "- \(yaml($0))\n" }.joined()
        if let d = m.dataset { s += "datasets:\n- \(yaml(d))\n" }
        let dice = diceValues(m.metrics, organ: m.organ)
        if !dice.isEmpty {
            s += "metrics:\n- dice\nmodel-index:\n- name: \(yaml(m.id))\n  results:\n"
            for (name, value) in dice {
                s += "  - task:\n      type: image-segmentation\n      name: 1-shot \(yaml(name)) segmentation\n"
                s += "    dataset:\n      type: \(yaml(m.dataset ?? "not stated"))\n      name: \(yaml(m.dataset ?? "not stated"))\n"
                s += "    metrics:\n    - type: dice\n      value: \(String(format: "%.4f", value))\n      name: 3-D Dice\n"
            }
        }
        s += "---\n\n# \(m.id) \(m.version)\n\n"
        if let d = m.description, !d.isEmpty { s += d + "\n\n" }
        s += "An SSM-SAM meta-initialisation for **\(organ)**: the heads (self-sampler, FMAD\(m.ssmSAM?.adapters == true ? ", adapters" : "")) "
        s += "and their learned per-layer per-step inner rates, as a delta on the frozen SAM base `\(m.base?.reference ?? "?")` "
        s += "(its `weights.safetensors` must have sha256 `\(m.base?.sha256 ?? "?")`). Give it one labelled slice of the organ and it adapts online, then segments the other slices.\n\n"
        s += "| | |\n|---|---|\n| family | ssm-sam |\n| base | `\(m.base?.reference ?? "?")` |\n| organ | \(organ) |\n"
        s += "| modality | \(m.modality ?? "not stated") |\n| dataset | \(m.dataset ?? "not stated") |\n"
        s += "| weights | `\(m.weights.path)`: \(m.weights.tensors) tensors, \(ModelCard.grouped(m.weights.parameters)) parameters"
        if let i = m.weights.initialisation {
            s += "; stored as 4-bit residuals on the heads' initialisation from seed \(i.seed) (digest `\(i.sha256.prefix(16))…`), decoded on load"
        }
        s += " |\n| license | \(m.license) |\n\n"
        if let p = m.protocolSettings { s += "## Training\n\n" + ModelCard.table(p) + "\nThe whole run record is `record.json`.\n" }
        s += "\n## Results\n\n" + results(m.metrics)
        s += "\nThe Dice is 3-D Dice over every query slice (protocol: support = a chunk's centre slice, queries = its other slices), "
        s += "measured on these weights as stored; the zero-shot baselines are plain SAM prompted from the same support mask.\n"
        s += "\n## Golden check\n\n`golden/` holds a support slice with its mask, a query slice and `adaptation.json` (method, steps, point seed, tolerance); "
        s += "`outputs.safetensors` holds the query's logits before (`initial_logits`) and after (`adapted_logits`) the 1-shot adaptation. "
        s += "`ssmsam zoo install` reruns the adaptation and compares (unless `--skip-numbers`); `ssmsam zoo verify \(m.reference) --numbers` does it again.\n"
        s += "\n## How to use\n\n```sh\nssmsam zoo install PACKAGE        # the base \(m.base?.reference ?? "") must be installed first\n"
        s += "ssmsam adapt --model zoo:\(m.reference) --support S.png --support-mask M.png --query Q.png --out OUT\n"
        s += "ssmsam eval --model zoo:\(m.reference) --volume CT.nii.gz --labels L.nii.gz --organs \(m.organ ?? "ORGAN") --out EVAL\n"
        s += "ssmsam zoo export \(m.reference) --hf DIR     # or --pth M.pth for the PyTorch twin\n```\n"
        s += "\n## License\n\n\(m.license)\n"
        return s
    }

    /// The evaluation as a table: every method's 3-D Dice (this entry with its learned rates first), then the
    /// zero-shot baselines; other metrics as key-value rows.
    static func results(_ metrics: JSONValue?) -> String {
        guard case .object(let o)? = metrics else { return "No evaluation recorded.\n" }
        guard case .object(let methods)? = o["dice_by_method"] else { return ModelCard.table(.object(o)) }
        var s = "Each row is a method of the same evaluation run, on the same chunks: the first is this entry adapted with its learned rates; "
        s += "a name ending in `+ft` is this entry adapted by AdamW fine-tuning instead; other SSM-SAM rows are the variants the run compared.\n\n"
        s += "| method | 3-D Dice |\n|---|---|\n"
        let primary: String? = { if case .string(let p)? = o["primary_method"] { return p } else { return nil } }()
        func rank(_ n: String) -> Int { n == primary ? 0 : n.hasPrefix("sam_") ? 2 : 1 }
        for name in methods.keys.sorted(by: { (rank($0), $0) < (rank($1), $1) }) {
            let label = name.hasPrefix("sam_") ? "zero-shot SAM, \(name.dropFirst(4)) from the support" : name
            s += "| \(label) | \(methods[name]?.number.map { String(format: "%.3f", $0) } ?? "-") |\n"
        }
        return s
    }

    /// Dice per organ from the manifest's metrics (`dice`: a number for the organ, or per organ).
    static func diceValues(_ metrics: JSONValue?, organ: String?) -> [(String, Double)] {
        guard case .object(let o)? = metrics, let d = o["dice"] else { return [] }
        switch d {
        case .number(let x): return [(organ ?? "organ", x)]
        case .object(let per): return per.keys.sorted().compactMap { k in per[k]?.number.map { (k, $0) } }
        default: return []
        }
    }

    /// A YAML scalar: plain when safe, else double-quoted.
    static func yaml(_ s: String) -> String {
        let safe = s.range(of: "^[A-Za-z0-9_./@-]+$", options: .regularExpression) != nil
        return safe ? s : "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
