import ArgumentParser
import Foundation

@main
struct SSMSAMCommand: ParsableCommand {
    /// Standard output is line-buffered even into a file or a pipe, so that progress of long runs
    /// (`meta-train`, `eval`) shows in logs (`| tee`, `> run.log`) as it happens.
    static func main() {
        setvbuf(stdout, nil, _IOLBF, 0)
        main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "ssmsam",
        abstract: "Segment Anything (SAM) and SSM-SAM on the CPU: convert, run, meta-train, publish, verify.",
        version: ToolkitVersion.string,
        subcommands: [DoctorCommand.self, InspectCommand.self, ConvertCommand.self, EncodeCommand.self,
                      SegmentCommand.self, DemoCommand.self, DataCommand.self, SSMCommand.self, MetaTrainCommand.self,
                      AdaptCommand.self, EvalCommand.self, AblateCommand.self, ParityCommand.self, ZooCommand.self])
}
