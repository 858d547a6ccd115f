import ArgumentParser
import Foundation
import Zoo

/// `ssmsam zoo export --hf`: a Hugging-Face-Hub-style folder.
struct ZooExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export an installed package as a Hugging-Face-Hub-style folder (a delta is merged onto its base).")

    @Argument(help: "ID@VERSION.") var entry: String
    @Option(help: "The folder to write (config.json, model.safetensors, README.md).") var hf: String
    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try CLIErrors.report {
            let registry = registryOptions.open()
            let ref = try ModelReference(parsing: entry)
            let p = try registry.verifiedPackage(ref, for: "exported")
            try HFExport.export(p, base: p.manifest.base.flatMap { registry.base($0) }, to: URL(fileURLWithPath: hf))
            print("wrote \(hf): config.json, model.safetensors, README.md for \(p.manifest.reference)")
        }
    }
}
