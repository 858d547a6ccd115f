import ArgumentParser

@main
struct SSMSAMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssmsam",
        abstract: "Segment Anything (SAM) and SSM-SAM on the CPU: convert, run, meta-train, publish, verify.",
        version: ToolkitVersion.string,
        subcommands: [DoctorCommand.self, InspectCommand.self, ConvertCommand.self, EncodeCommand.self,
                      SegmentCommand.self, DemoCommand.self, DataCommand.self, SSMCommand.self, MetaTrainCommand.self,
                      EvalCommand.self, ZooCommand.self])
}
