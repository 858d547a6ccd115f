import ArgumentParser
import Diagnostics
import Foundation
import Zoo

/// `ssmsam zoo show`: the model card of an installed package or a package folder.
struct ZooShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print the model card of ID[@VERSION] (or of a package folder).",
        discussion: """
            Examples:
              ssmsam zoo show ssmsam/mobile-liver
              ssmsam zoo show zoo/sam/mobile_sam/1.0.0 --json
            """)

    @Argument(help: "ID[@VERSION] (newest when no version), or a package folder.") var entry: String
    @Flag(help: "Print manifest.json instead of the card.") var manifest = false
    @Flag(help: "Print one JSON object: reference, folder, the manifest (parsed) and the card (Markdown text).") var json = false
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
            if json {
                let manifestObject = try JSONSerialization.jsonObject(with: try read(package.url(PackageLayout.manifest)))
                try JSONOutput.print(["reference": package.manifest.reference, "directory": package.directory.path,
                                      "manifest": manifestObject, "card": String(decoding: try read(package.url(PackageLayout.card)), as: UTF8.self)])
                return
            }
            print(String(decoding: try read(package.url(manifest ? PackageLayout.manifest : PackageLayout.card)), as: UTF8.self), terminator: "")
        }
    }

    private func read(_ file: URL) throws -> Data {
        do { return try Data(contentsOf: file) } catch {
            throw ToolkitError(.missingFile, subject: file.path, "cannot read: \(error.localizedDescription)")
        }
    }
}
