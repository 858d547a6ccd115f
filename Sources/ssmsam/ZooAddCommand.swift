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
            """)

    @Argument(help: "The checkpoint (.pth, .onnx, .safetensors, .npz: anything convert reads).") var checkpoint: String
    @Option(help: "Model id, e.g. ssm-sam/vit_b/liver.") var id: String?
    @Option(help: "Semantic version, e.g. 1.0.0.") var version: String?
    @Option(help: "A catalogue entry folder this checkpoint must reproduce (its metadata is used).") var catalogueEntry: String?
    @Option(help: "Installed base model ID@VERSION: makes a delta on it.") var base: String?
    @Option(help: "License (an SPDX-like id such as apache-2.0; default: other).") var license: String?
    @Option(help: "Architecture JSON (a SAM config); default: the .json beside the checkpoint, the base's, or detected from shapes.") var config: String?
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
            let entry = try catalogueEntry.map { try Manifest.read(URL(fileURLWithPath: $0).appendingPathComponent(PackageLayout.manifest)) }
            guard let id = id ?? entry?.id, let version = version ?? entry?.version else {
                throw ValidationError("give --id and --version, or --catalogue-entry")
            }
            var r = PackageRequest(checkpoint: URL(fileURLWithPath: checkpoint), id: id, version: version)
            (r.key, r.description, r.sourceURL) = (key ?? entry?.source?.key, description ?? entry?.description, sourceURL ?? entry?.source?.url)
            (r.organ, r.modality, r.dataset) = (organ ?? entry?.organ, modality ?? entry?.modality, dataset ?? entry?.dataset)
            r.license = license ?? entry?.license ?? "other"
            (r.protocolSettings, r.metrics) = (entry?.protocolSettings, entry?.metrics)
            if let config { r.config = try SAMModelStore.readConfig(URL(fileURLWithPath: config)) }
            if let base { r.base = try registry.package(try ModelReference(parsing: base)) }
            if let p = `protocol` { r.protocolSettings = try jsonArgument(p, option: "--protocol") }
            if let m = metrics { r.metrics = try jsonArgument(m, option: "--metrics") }

            let fm = FileManager.default
            let target = out.map { URL(fileURLWithPath: $0) }
            if let target, fm.fileExists(atPath: target.path) { throw ValidationError("--out \(target.path) already exists") }
            let parent = target?.deletingLastPathComponent() ?? fm.temporaryDirectory
            let tmp = parent.appendingPathComponent(".zoo-add-\(getpid())-\(UUID().uuidString.prefix(8))")
            defer { try? fm.removeItem(at: tmp) }
            let m = try PackageBuilder.build(r, into: tmp, toolkitVersion: ToolkitVersion.string)
            if let catalogueEntry {
                let issues = try Catalogue.compare(built: try ZooPackage.read(tmp), with: URL(fileURLWithPath: catalogueEntry))
                guard issues.isEmpty else {
                    throw ToolkitError(.verificationFailed, subject: checkpoint, "does not reproduce the catalogue entry \(catalogueEntry):\n"
                                   + issues.map { "  \($0)" }.joined(separator: "\n"))
                }
                print("matches the catalogue entry \(catalogueEntry): weights sha256" + (FileManager.default.fileExists(
                    atPath: catalogueEntry + "/" + PackageLayout.goldenOutputs) ? " and golden outputs" : ""))
            }
            if let target {
                guard rename(tmp.path, target.path) == 0 else { throw ValidationError("cannot move the package to \(target.path)") }
                print("wrote \(target.path): \(m.reference) (\(m.kind.rawValue), \(m.weights.tensors) tensors)")
            } else {
                switch try registry.install(from: tmp) {
                case .installed(let e): print("added \(e.reference) (\(m.kind.rawValue), \(m.weights.tensors) tensors) to \(registry.root.path)")
                case .alreadyInstalled(let e): print("\(e.reference) is already installed, unchanged")
                }
            }
        }
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
