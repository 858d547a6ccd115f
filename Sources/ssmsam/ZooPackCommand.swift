import ArgumentParser
import Foundation
import Zoo

/// `ssmsam zoo pack`: an installed package as one `.tar` file.
struct ZooPackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pack", abstract: "Write an installed package as a .tar archive (verified first).",
        discussion: """
            Example:
              ssmsam zoo pack ssmsam/mobile-liver@1.0.0 -o mobile-liver.tar
            """)

    @Argument(help: "ID@VERSION.") var entry: String
    @Option(name: .shortAndLong, help: "The archive to write (.tar).") var output: String
    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try CLIErrors.report {
            let registry = registryOptions.open()
            let ref = try ModelReference(parsing: entry)
            let p = try registry.verifiedPackage(ref, for: "packed")
            try TarArchive.pack(directory: p.directory, paths: [PackageLayout.manifest] + p.manifest.files.map(\.path),
                                to: URL(fileURLWithPath: output))
            print("wrote \(output): \(p.manifest.reference), \(p.manifest.files.count + 1) files")
        }
    }
}
