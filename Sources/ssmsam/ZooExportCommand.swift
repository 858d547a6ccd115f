import ArgumentParser
import Foundation
import Zoo

/// `ssmsam zoo export --hf`: a Hugging-Face-Hub-style folder.
struct ZooExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export an installed package as a Hugging-Face-Hub-style folder (a delta is merged onto its base), or an SSM-SAM package as the twin's .pth.",
        discussion: """
            Examples:
              ssmsam zoo export sam/vit_b@1.0.0 --hf vit_b_hf
              ssmsam zoo export ssmsam/mobile-liver@1.0.0 --pth liver.pth
            """)

    @Argument(help: "ID@VERSION.") var entry: String
    @Option(help: "The folder to write (config.json, model.safetensors, README.md).") var hf: String?
    @Option(help: "SSM-SAM packages: the .pth (with its .json, and NAME.lslr.pth for the learned rates) that the PyTorch twin loads.") var pth: String?
    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try CLIErrors.report {
            let registry = registryOptions.open()
            let ref = try ModelReference(parsing: entry)
            guard (hf == nil) != (pth == nil) else { throw ValidationError("give --hf DIR or --pth FILE.pth") }
            let p = try registry.verifiedPackage(ref, for: "exported")
            let base = p.manifest.base.flatMap { registry.base($0) }
            switch (p.manifest.family, hf, pth) {
            case (.sam, let hf?, nil):
                try HFExport.export(p, base: base, to: URL(fileURLWithPath: hf))
                print("wrote \(hf): config.json, model.safetensors, README.md for \(p.manifest.reference)")
            case (.ssmSAM, let hf?, nil):
                try SSMSAMExport.huggingFace(p, base: base, to: URL(fileURLWithPath: hf))
                print("wrote \(hf): config.json, model.safetensors (f32, with the learned rates), README.md for \(p.manifest.reference)")
            case (.ssmSAM, nil, let pth?):
                try SSMSAMExport.pth(p, base: base, to: URL(fileURLWithPath: pth))
                print("wrote \(pth) with its .json (the PyTorch twin's read_config + load_pth) and the learned rates beside it")
            default:
                throw ValidationError("--pth is for SSM-SAM packages; export a SAM package with --hf (or use ssmsam convert)")
            }
        }
    }
}
