import ArgumentParser

/// `ssmsam ssm`: SSM-SAM models (a frozen SAM base and trainable few-shot heads).
struct SSMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssm", abstract: "SSM-SAM models: make one on a SAM base, predict a query slice from one labelled support slice, run the zero-shot baselines.",
        discussion: """
            Examples:
              ssmsam ssm init --base mobile_sam --out M.safetensors
              ssmsam ssm predict --model M.safetensors --support slice40.png --support-mask liver40.png --query slice44.png --out mask44.png
            """,
        subcommands: [SSMInitCommand.self, SSMPredictCommand.self, SSMBaselineCommand.self])
}
