import ArgumentParser
import Diagnostics
import Foundation
import SAM
import Zoo

/// `ssmsam zoo add`: a package from a checkpoint, with golden outputs, installed (or written with --out).
struct ZooAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Build a package from a checkpoint (golden outputs computed) and install it.",
        discussion: """
            With --base the package is a delta: only the tensors that differ from the installed base (or that it lacks) are kept. \
            With --catalogue-entry (e.g. zoo/sam/mobile_sam/1.0.0) the id, version, license and description come from that entry, \
            and the package lands only if its weights have the catalogued sha256 (and its golden outputs match the entry's, when it has them).

            Examples:
              ssmsam zoo add ~/.cache/ssmsam/models/mobile_sam.pt --catalogue-entry zoo/sam/mobile_sam/1.0.0
              ssmsam zoo add my_sam.pth --id me/my-sam --version 1.0.0 --base sam/vit_b@1.0.0 --license apache-2.0
            """)

    @Argument(help: "The checkpoint (.pth, .onnx, .safetensors, .npz, a Hugging Face save_pretrained folder: anything convert reads).") var checkpoint: String
    @Option(help: "Model id, e.g. ssm-sam/vit_b/liver.") var id: String?
    @Option(help: "Semantic version, e.g. 1.0.0.") var version: String?
    @Option(help: "A catalogue entry folder this checkpoint must reproduce (its metadata is used).") var catalogueEntry: String?
    @Option(help: "A catalogue folder (e.g. zoo): the entry whose checkpoint has this file's sha256 is used.") var catalogue: String?
    @Option(help: "Installed base model ID@VERSION: makes a delta on it.") var base: String?
    @Option(help: "License (an SPDX-like id such as apache-2.0; default: other).") var license: String?
    @Option(help: "Architecture JSON (the toolkit's SAM config, or a transformers config.json); default: the checkpoint's own (a folder's config.json, the .json beside it), the base's, or detected from shapes.") var config: String?
    @Option(help: "Dot path to the state dict inside a nested PyTorch checkpoint.") var key: String?
    @Option(help: "One-line description for the card.") var description: String?
    @Option(help: "Organ (e.g. liver).") var organ: String?
    @Option(help: "Modality (e.g. CT, MRI).") var modality: String?
    @Option(help: "Dataset name.") var dataset: String?
    @Option(help: "Protocol settings: a JSON object, inline or a file.") var `protocol`: String?
    @Option(help: "Metrics: a JSON object, inline or a file.") var metrics: String?
    @Option(help: "Where the original checkpoint can be downloaded (for the card).") var sourceURL: String?
    @Option(help: "Write the package folder here instead of installing it.") var out: String?
    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try CLIErrors.report {
            let registry = registryOptions.open()
            let checkpointURL = URL(fileURLWithPath: checkpoint)
            let catalogueEntry = try self.catalogueEntry ?? catalogue.map { try recognise(checkpointURL, in: URL(fileURLWithPath: $0)) }
            let entryDir = catalogueEntry.map { URL(fileURLWithPath: $0) }
            let known = try entryDir.flatMap { try KnownCheckpoint.read($0) }
            if let known {
                // A known checkpoint: the file must be the published one, byte for byte.
                if let why = known.mismatch(sha256: try FileDigest.sha256(of: checkpointURL).hex, file: checkpoint) {
                    throw ToolkitError(.verificationFailed, subject: checkpoint, why)
                }
                print("recognised \(checkpoint) as \(known.source.file) (\(known.id)@\(known.version)) by its sha256")
            }
            let entry = try known == nil ? entryDir.map { try Manifest.read($0.appendingPathComponent(PackageLayout.manifest)) } : nil
            guard let id = id ?? entry?.id ?? known?.id, let version = version ?? entry?.version ?? known?.version else {
                throw ValidationError("give --id and --version, or --catalogue-entry")
            }
            var r = PackageRequest(checkpoint: checkpointURL, id: id, version: version)
            (r.key, r.description, r.sourceURL) = (key ?? entry?.source?.key, description ?? entry?.description ?? known?.description,
                                                   sourceURL ?? entry?.source?.url ?? known?.source.url)
            (r.organ, r.modality, r.dataset) = (organ ?? entry?.organ, modality ?? entry?.modality, dataset ?? entry?.dataset)
            r.license = license ?? entry?.license ?? known?.license ?? "other"
            (r.protocolSettings, r.metrics) = (entry?.protocolSettings, entry?.metrics)
            if let config { r.config = try SAMModelStore.readConfig(URL(fileURLWithPath: config)) }
            else if let known {
                guard let preset = SAMConfig.preset(known.preset) else { throw ValidationError("\(catalogueEntry ?? ""): unknown preset '\(known.preset)'") }
                r.config = preset
            }
            if let base { r.base = try registry.package(try ModelReference(parsing: base)) }
            if let p = `protocol` { r.protocolSettings = try jsonArgument(p, option: "--protocol") }
            if let m = metrics { r.metrics = try jsonArgument(m, option: "--metrics") }

            var m: Manifest! = nil
            // The golden outputs run the encoder, and so does the install's check of them: a bar for each.
            let landing = try ProgressBar.encoding("encoder (golden outputs)") { try PackageDestination(out: out, registry: registry).land(tag: "add", numbers: true) { tmp in
                m = try PackageBuilder.build(r, into: tmp, toolkitVersion: ToolkitVersion.string)
                if let catalogueEntry, known == nil {
                    let issues = try Catalogue.compare(built: try ZooPackage.read(tmp), with: URL(fileURLWithPath: catalogueEntry))
                    guard issues.isEmpty else {
                        throw ToolkitError(.verificationFailed, subject: checkpoint, "does not reproduce the catalogue entry \(catalogueEntry):\n"
                                       + issues.map { "  \($0)" }.joined(separator: "\n"))
                    }
                    print("matches the catalogue entry \(catalogueEntry): weights sha256" + (FileManager.default.fileExists(
                        atPath: catalogueEntry + "/" + PackageLayout.goldenOutputs) ? " and golden outputs" : ""))
                }
            } }
            switch landing {
            case .wrote(let target): print("wrote \(target.path): \(m.reference) (\(m.kind.rawValue), \(m.weights.tensors) tensors)")
            case .installed(let e): print("added \(e.reference) (\(m.kind.rawValue), \(m.weights.tensors) tensors) to \(registry.root.path)")
            case .alreadyInstalled(let e): print("\(e.reference) is already installed, unchanged")
            }
        }
    }

    /// The entry of `catalogue` whose checkpoint (a known checkpoint's file, or a package's source) has the
    /// sha256 of `file`.
    func recognise(_ file: URL, in catalogue: URL) throws -> String {
        let digest = try FileDigest.sha256(of: file).hex
        if let k = try KnownCheckpoint.all(in: catalogue).first(where: { $0.entry.source.sha256 == digest }) { return k.directory.path }
        if let e = try Catalogue.entries(in: catalogue).first(where: { $0.manifest.source?.sha256 == digest }) { return e.directory.path }
        throw ToolkitError(.invalidArgument, subject: file.path, "sha256 \(digest) is not a checkpoint of any entry in \(catalogue.path); give --id and --version")
    }

    /// A JSON object given inline or as a file.
    func jsonArgument(_ text: String, option: String) throws -> JSONValue {
        let data = FileManager.default.fileExists(atPath: text) ? try Data(contentsOf: URL(fileURLWithPath: text)) : Data(text.utf8)
        guard let v = try? JSONDecoder().decode(JSONValue.self, from: data), case .object = v else {
            throw ValidationError("\(option): expected a JSON object (inline or a file)")
        }
        return v
    }
}
