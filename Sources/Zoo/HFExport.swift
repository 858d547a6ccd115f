import Diagnostics
import Foundation
import Formats
import SAM

/// Writes a package as a Hugging-Face-Hub-style model folder (`config.json`, `model.safetensors`,
/// `README.md` with YAML front matter), so entries can be pushed to existing model hubs. A delta is
/// merged onto its base: the folder holds the whole model and stands alone.
public enum HFExport {
    /// Exports into `directory`, which must not exist or be empty. The folder is assembled under a
    /// temporary name beside it and renamed into place, so it is complete or absent.
    public static func export(_ package: ZooPackage, base: ZooPackage?, to directory: URL) throws {
        let m = package.manifest
        let weights = try package.fullWeights(base: base)
        try OutputFolder.assemble(directory) { tmp in
            try SafeTensors.write(weights, metadata: ["format": "pt", "ssmsam.id": m.id, "ssmsam.version": m.version],
                                  to: tmp.appendingPathComponent("model.safetensors"))
            try AtomicFile.write(try PackageBuilder.prettyJSON(HFConfig(m)), to: tmp.appendingPathComponent("config.json"))
            try AtomicFile.write(Data((frontMatter(m) + ModelCard.markdown(m)).utf8), to: tmp.appendingPathComponent("README.md"))
        }
    }

    /// `config.json`: the architecture plus where the weights came from.
    struct HFConfig: Encodable {
        let model_type = "sam"
        let library_name = "ssmsam"
        let ssmsam_id: String
        let ssmsam_version: String
        let ssmsam_kind: String
        let merged_from: [String]?
        let architecture: SAMConfig
        let organ: String?
        let modality: String?
        let toolkit_version: String
        init(_ m: Manifest) {
            (ssmsam_id, ssmsam_version, architecture, organ, modality) = (m.id, m.version, m.architecture, m.organ, m.modality)
            ssmsam_kind = m.kind.rawValue
            merged_from = m.base.map { [$0.reference, m.reference] }
            toolkit_version = m.toolkit.version
        }
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
