import Diagnostics
import Foundation
import Formats
import SAM
import TensorCore

/// Writes a package as a Hugging-Face-Hub-style model folder (`config.json`, `model.safetensors`,
/// `README.md` with YAML front matter), so entries can be pushed to existing model hubs. A delta is
/// merged onto its base: the folder holds the whole model and stands alone.
///
/// A ViT SAM is written as transformers' `SamModel.save_pretrained` would write it: SamModel's tensor names
/// (`HuggingFaceNames`, one copy of the tied Fourier matrix) and a complete `SamConfig` (`HuggingFaceConfig`,
/// the decoder's LayerNorm eps included), plus `ssmsam_*` provenance keys that transformers keeps as attributes;
/// `SamModel.from_pretrained(DIR)` loads it with no missing or unexpected keys. MobileSAM's TinyViT encoder has
/// no SamModel equivalent: such a folder keeps the official names and the toolkit's own config (its `format`
/// marker, no `model_type`: transformers' AutoModel refuses it, and SamModel's loader reports its tensors missing), and
/// the card says so.
/// The toolkit loads both kinds of folder (`--model DIR`).
public enum HFExport {
    /// Exports into `directory`, which must not exist or be empty. The folder is assembled under a
    /// temporary name beside it and renamed into place, so it is complete or absent.
    public static func export(_ package: ZooPackage, base: ZooPackage?, to directory: URL) throws {
        let m = package.manifest
        let official = HuggingFaceNames.toOfficial(try package.fullWeights(base: base))
        let transformers = m.architecture.kind == .vit
        let weights = transformers ? try HuggingFaceNames.toHuggingFace(official, file: package.directory.path) : official
        let config = HuggingFaceConfig.pythonFloats(try PackageBuilder.prettyJSON(transformers
            ? HFConfig(sam: try HuggingFaceConfig(m.architecture, dtype: dtypeName(weights), file: package.directory.path), m)
            : HFConfig(toolkit: m.architecture, m)))
        try OutputFolder.assemble(directory) { tmp in
            try SafeTensors.write(weights, metadata: ["format": "pt", "ssmsam.id": m.id, "ssmsam.version": m.version],
                                  to: tmp.appendingPathComponent("model.safetensors"))
            try AtomicFile.write(config, to: tmp.appendingPathComponent("config.json"))
            try AtomicFile.write(Data((frontMatter(m) + ModelCard.markdown(m) + usage(m, transformers: transformers)).utf8),
                                 to: tmp.appendingPathComponent("README.md"))
        }
    }

    /// `config.json`: the architecture (transformers' `SamConfig`, or the toolkit's config with its marker), then
    /// where the weights came from.
    struct HFConfig: Encodable {
        let sam: HuggingFaceConfig?
        let toolkit: SAMConfig?
        let provenance: Provenance
        init(sam: HuggingFaceConfig, _ m: Manifest) { (self.sam, toolkit, provenance) = (sam, nil, Provenance(m)) }
        init(toolkit: SAMConfig, _ m: Manifest) { (sam, self.toolkit, provenance) = (nil, toolkit, Provenance(m)) }
        func encode(to encoder: any Encoder) throws {
            if let sam { try sam.encode(to: encoder) }
            if let toolkit { try SAMModelStore.Marked(config: toolkit).encode(to: encoder) }
            try provenance.encode(to: encoder)
        }
    }

    struct Provenance: Encodable {
        let library_name = "ssmsam"
        let ssmsam_id: String
        let ssmsam_version: String
        let ssmsam_kind: String
        let merged_from: [String]?
        let organ: String?
        let modality: String?
        let toolkit_version: String
        init(_ m: Manifest) {
            (ssmsam_id, ssmsam_version, organ, modality) = (m.id, m.version, m.organ, m.modality)
            ssmsam_kind = m.kind.rawValue
            merged_from = m.base.map { [$0.reference, m.reference] }
            toolkit_version = m.toolkit.version
        }
    }

    /// transformers' name of the weights' float dtype (`float32` unless every float tensor has another one).
    static func dtypeName(_ weights: StateDict) -> String {
        let floats = Set(weights.entries.map { $0.1.dtype }.filter(\.isFloatingPoint))
        switch floats.count == 1 ? floats.first : nil {
        case .f16?: return "float16"
        case .bf16?: return "bfloat16"
        default: return "float32"
        }
    }

    /// How the exported folder loads, appended to the card.
    static func usage(_ m: Manifest, transformers: Bool) -> String {
        var s = "\n## This folder\n\n"
        if transformers {
            s += "Written as transformers' `SamModel.save_pretrained` writes a model: `SamModel` tensor names and a complete `SamConfig` "
            s += "(the mask decoder's LayerNorm eps is \(m.architecture.decoder.layerNormEps), the value these weights were made with). "
            s += "It loads with no missing or unexpected keys and computes what the toolkit computes:\n\n"
            s += "```python\nfrom transformers import SamModel\nmodel = SamModel.from_pretrained(\"DIR\")\n```\n\n"
        } else {
            s += "MobileSAM's TinyViT image encoder has no transformers `SamModel` equivalent, so this folder is in the toolkit's own format: "
            s += "segment-anything tensor names and the toolkit's config (`\"format\": \"\(SAMModelStore.configFormat)\"`, no `model_type`: "
            s += "transformers' `AutoModel` refuses it, and `SamModel.from_pretrained` would report every tensor missing). Do not load it with transformers.\n\n"
        }
        return s + "The toolkit reads it as it is: `ssmsam segment --model DIR ...`.\n"
    }

    /// The hub's metadata block.
    static func frontMatter(_ m: Manifest) -> String {
        func q(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        var y = "---\n"
        let lic = m.license.lowercased()
        if lic.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }) && !lic.isEmpty {
            y += "license: \(lic)\n"
        } else {
            y += "license: other\nlicense_name: \(q(m.license))\n"
        }
        y += "library_name: ssmsam\npipeline_tag: mask-generation\ntags:\n"
        for t in ["segment-anything", "ssm-sam", "medical-imaging"] + [m.organ, m.modality].compactMap({ $0 }) { y += "- \(q(t))\n" }
        if let d = m.dataset { y += "datasets:\n- \(q(d))\n" }
        if let b = m.base { y += "base_model: \(q(b.id))\n" }
        return y + "---\n\n"
    }
}
