import Diagnostics
import FewShot
import FileIO
import Foundation
import Formats
import SAM
import SSMSAM

/// Exports an SSM-SAM package as files other tools open: a Hugging-Face-style folder (`model.safetensors` with
/// every tensor in f32, residuals decoded, the config in its metadata; `config.json`; the card as `README.md`),
/// or the `.pth` + `.json` pair the PyTorch twin loads (`read_config` + `load_pth`), with the learned rates
/// beside it as `NAME.lslr.pth` (the twin's heads file holds the heads only).
public enum SSMSAMExport {
    /// The Hugging-Face-style folder; `directory` must not exist or be empty, and is complete or absent.
    public static func huggingFace(_ package: ZooPackage, base: ZooPackage?, to directory: URL) throws {
        let meta = try MetaInitialisation(package: package, base: base)
        try OutputFolder.assemble(directory) { tmp in
            let weights = tmp.appendingPathComponent("model.safetensors")
            if let rates = meta.rates { try MetaModelFile.save(meta.model, rates: rates, to: weights) } else { try SSMSAMStore.save(meta.model, to: weights) }
            var config = meta.model.config.twinDictionary
            config["model_type"] = "ssm-sam"
            config["library_name"] = "ssmsam"
            config["ssmsam_id"] = package.manifest.id
            config["ssmsam_version"] = package.manifest.version
            config["base_model"] = package.manifest.base?.reference
            config["organ"] = package.manifest.organ
            config["learned_inner_steps"] = meta.rates?.steps ?? 0
            try AtomicFile.write(try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]),
                                 to: tmp.appendingPathComponent("config.json"))
            try AtomicFile.write(try Data(contentsOf: package.url(PackageLayout.card)), to: tmp.appendingPathComponent("README.md"))
        }
    }

    /// `M.pth` (every model tensor: image_encoder.* and the heads) with the twin's `M.json`, and the rates as
    /// `M.lslr.pth` when the package has them. Refuses to overwrite any of them.
    public static func pth(_ package: ZooPackage, base: ZooPackage?, to url: URL) throws {
        guard url.pathExtension == "pth" else { throw ToolkitError(.invalidArgument, subject: url.path, "expected a .pth file name") }
        let ratesURL = url.deletingPathExtension().appendingPathExtension("lslr.pth")
        for u in [url, SAMModelStore.configURL(for: url), ratesURL] where FileManager.default.fileExists(atPath: u.path) {
            throw ToolkitError(.invalidArgument, subject: u.path, "exists; export never overwrites")
        }
        let meta = try MetaInitialisation(package: package, base: base)
        try SSMSAMStore.save(meta.model, to: url)
        if let rates = meta.rates { try TorchZipWriter.write(rates.stateDict(), to: ratesURL) }
    }
}
