import ArgumentParser
import Foundation
import Zoo

/// `ssmsam zoo install`: verify, then land atomically.
struct ZooInstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install", abstract: "Install a package from a .tar archive or a package folder; it is verified before it lands.")

    @Argument(help: "A .tar archive or a package folder.") var source: String
    @Flag(help: "Also rerun the golden inputs before installing.") var numbers = false
    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try CLIErrors.report {
            let registry = registryOptions.open()
            switch try registry.install(from: URL(fileURLWithPath: source), numbers: numbers) {
            case .installed(let e): print("installed \(e.reference) into \(registry.root.path)")
            case .alreadyInstalled(let e): print("\(e.reference) is already installed (identical), unchanged")
            }
        }
    }
}
