import ArgumentParser
import Foundation
import Zoo

/// `ssmsam zoo install`: verify, then land atomically.
struct ZooInstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install", abstract: "Install a package from a .tar archive or a package folder; it is verified (files, signature, golden numbers) before it lands.")

    @Argument(help: "A .tar archive or a package folder.") var source: String
    @Flag(help: "Do not rerun the golden inputs (and, for SSM-SAM, the golden adaptation) before installing; the registry records that they were skipped.") var skipNumbers = false
    @Flag(help: "Refuse packages that are unsigned or signed by a key the registry does not trust.") var strict = false
    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try CLIErrors.report {
            let registry = registryOptions.open()
            switch try registry.install(from: URL(fileURLWithPath: source), numbers: !skipNumbers, strict: strict) {
            case .installed(let e):
                print("installed \(e.reference) into \(registry.root.path); signature: \(e.signature ?? "?"); golden numbers "
                      + (skipNumbers ? "skipped (recorded)" : "reproduced"))
            case .alreadyInstalled(let e): print("\(e.reference) is already installed (identical), unchanged")
            }
        }
    }
}
