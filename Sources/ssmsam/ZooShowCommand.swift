import ArgumentParser
import Diagnostics
import Foundation
import Zoo

/// `ssmsam zoo show`: the model card of an installed package or a package folder.
struct ZooShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print the model card of ID[@VERSION] (or of a package folder).")

    @Argument(help: "ID[@VERSION] (newest when no version), or a package folder.") var entry: String
    @Flag(help: "Print manifest.json instead of the card.") var manifest = false
    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try CLIErrors.report {
            var isDir: ObjCBool = false
            let package: ZooPackage
            if FileManager.default.fileExists(atPath: entry, isDirectory: &isDir), isDir.boolValue {
                package = try ZooPackage.read(URL(fileURLWithPath: entry))
            } else {
                package = try registryOptions.open().package(try ModelReference(parsing: entry))
            }
            let file = package.url(manifest ? PackageLayout.manifest : PackageLayout.card)
            do { print(try String(contentsOf: file, encoding: .utf8), terminator: "") } catch {
                throw ToolkitError(.missingFile, subject: file.path, "cannot read: \(error.localizedDescription)")
            }
        }
    }
}
