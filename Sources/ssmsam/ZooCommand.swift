import ArgumentParser
import Foundation
import Zoo

/// `ssmsam zoo`: publish, list, install and verify models (Formats/FORMATS.md, "Zoo packages").
struct ZooCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zoo", abstract: "The model zoo: packages of weights, config, card and golden outputs; a local registry.",
        discussion: """
            The registry is $SSMSAM_ZOO, else ~/.cache/ssmsam/zoo (or --registry). The repository's zoo/ folder is the catalogue of known entries.

            Examples:
              ssmsam zoo list
              ssmsam zoo install --strict zoo/ssmsam/mobile-liver/1.0.0
              ssmsam zoo verify ssmsam/mobile-liver@1.0.0 --numbers
            """,
        subcommands: [ZooAddCommand.self, ZooListCommand.self, ZooShowCommand.self, ZooPackCommand.self, ZooInstallCommand.self,
                      ZooRemoveCommand.self, ZooVerifyCommand.self, ZooExportCommand.self, ZooPublishCommand.self,
                      ZooKeygenCommand.self, ZooSignCommand.self, ZooTrustCommand.self])
}

/// `--registry`, shared by the zoo commands.
struct RegistryOptions: ParsableArguments {
    @Option(help: "The registry folder (default: $SSMSAM_ZOO, else ~/.cache/ssmsam/zoo).")
    var registry: String?

    func open() -> Registry { registry.map { Registry(root: URL(fileURLWithPath: $0)) } ?? Registry() }
}

/// Prints a verification report: passed checks, then every issue.
func printReport(_ r: VerificationReport) {
    print("signature: \(r.signature)")
    for line in r.passed { print("ok    \(line)") }
    for i in r.issues { print("FAIL  \(i)") }
}
