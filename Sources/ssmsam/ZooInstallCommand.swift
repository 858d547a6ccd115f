import ArgumentParser
import Foundation
import Zoo

/// `ssmsam zoo install`: verify, then land atomically.
struct ZooInstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install", abstract: "Install a package from a .tar archive or a package folder; it is verified (files, signature, golden numbers) before it lands.",
        discussion: """
            Examples:
              ssmsam zoo install ssmsam-mobile-liver-1.0.0.tar
              ssmsam zoo install --strict zoo/ssmsam/mobile-liver/1.0.0
            """)

    @Argument(help: "A .tar archive or a package folder.") var source: String
    @Flag(help: "Do not rerun the golden inputs (and, for SSM-SAM, the golden adaptation) before installing; the registry records that they were skipped.") var skipNumbers = false
    @Flag(help: "Refuse packages that are unsigned or signed by a key the registry does not trust.") var strict = false
    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try CLIErrors.report {
            let registry = registryOptions.open()
            let installed = try ProgressBar.encoding("encoder (golden numbers)") {
                try registry.install(from: URL(fileURLWithPath: source), numbers: !skipNumbers, strict: strict)
            }
            switch installed {
            case .installed(let e):
                print("installed \(e.reference) into \(registry.root.path); signature: \(e.signature ?? "?"); golden numbers "
                      + (skipNumbers ? "skipped (recorded)" : "reproduced"))
            case .alreadyInstalled(let e): print("\(e.reference) is already installed (identical), unchanged")
            }
        }
    }
}
