import ArgumentParser
import Zoo

/// `ssmsam zoo remove`.
struct ZooRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove an installed package.",
        discussion: """
            Example:
              ssmsam zoo remove me/my-sam@1.0.0
            """)

    @Argument(help: "ID@VERSION.") var entry: String
    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try CLIErrors.report {
            let registry = registryOptions.open()
            let e = try registry.remove(try ModelReference(parsing: entry))
            print("removed \(e.reference) from \(registry.root.path)")
        }
    }
}
