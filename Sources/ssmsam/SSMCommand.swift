import ArgumentParser

/// `ssmsam ssm`: SSM-SAM models (a frozen SAM base and trainable few-shot heads).
struct SSMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssm", abstract: "SSM-SAM models: make one on a SAM base, predict a query slice from one labelled support slice, run the zero-shot baselines.",
        subcommands: [SSMInitCommand.self, SSMPredictCommand.self, SSMBaselineCommand.self])
}
