import ArgumentParser
import Foundation
import Zoo

/// `ssmsam zoo list`: installed packages, or a catalogue's entries.
struct ZooListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List installed packages (or a catalogue folder's entries).",
        discussion: """
            Examples:
              ssmsam zoo list
              ssmsam zoo list --catalogue zoo --json
            """)

    @Option(help: "List the entries of a catalogue folder (e.g. the repository's zoo/) instead of the registry.") var catalogue: String?
    @Flag(help: "Print a JSON array (one object per entry, the table's columns as keys) instead of the table.") var json = false
    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try CLIErrors.report {
            var rows: [[String]] = []
            if let catalogue {
                for e in try Catalogue.entries(in: URL(fileURLWithPath: catalogue)) {
                    let m = e.manifest
                    rows.append([m.reference, m.family.rawValue, m.kind.rawValue, m.base?.reference ?? "-", m.organ ?? "-", m.license,
                                 e.complete ? "complete" : "without " + e.missing.joined(separator: ", ")])
                }
                for (_, k) in try KnownCheckpoint.all(in: URL(fileURLWithPath: catalogue)) {
                    rows.append(["\(k.id)@\(k.version)", "sam", "known checkpoint", "-", "-", k.license, "bring \(k.source.file) (sha256 \(k.source.sha256.prefix(12))...)"])
                }
                if rows.isEmpty && !json { print("no entries in \(catalogue)"); return }
                table(["ENTRY", "FAMILY", "KIND", "BASE", "ORGAN", "LICENSE", "FILES"], rows)
            } else {
                let registry = registryOptions.open()
                for e in try registry.list() {
                    rows.append([e.reference, e.kind.rawValue, e.base ?? "-", e.organ ?? "-", e.license, e.signature ?? "-",
                                 e.numbersVerified.map { $0 ? "verified" : "skipped" } ?? "-"])
                }
                if rows.isEmpty && !json { print("no packages installed in \(registry.root.path)"); return }
                table(["ENTRY", "KIND", "BASE", "ORGAN", "LICENSE", "SIGNATURE", "NUMBERS"], rows)
            }
        }
    }

    func table(_ header: [String], _ rows: [[String]]) {
        if json {
            let objects = rows.map { Dictionary(uniqueKeysWithValues: zip(header.map { $0.lowercased() }, $0)) }
            try? JSONOutput.print(objects)
            return
        }
        let widths = header.indices.map { c in ([header] + rows).map { $0[c].count }.max()! }
        for row in [header] + rows {
            print(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
        }
    }
}
