import ArgumentParser
import Diagnostics
import Foundation

@main
struct SSMSAMCommand: ParsableCommand {
    /// Standard output is line-buffered even into a file or a pipe, so that progress of long runs
    /// (`meta-train`, `eval`) shows in logs (`| tee`, `> run.log`) as it happens.
    ///
    /// A `ValidationError` a subcommand throws while running (an argument it checks itself) is reported with
    /// that subcommand's usage, as argument-parser does for errors found while parsing, not the root's.
    static func main() {
        setvbuf(stdout, nil, _IOLBF, 0)
        Notices.install { FileHandle.standardError.write(Data("note: \($0)\n".utf8)) }
        var command: ParsableCommand
        do { command = try parseAsRoot(nil) } catch { exit(withError: error) }
        do { try command.run() } catch let e as ValidationError {
            let sub = type(of: command)
            let path = (commandPath(to: sub, from: self) ?? [self]).map { $0._commandName }.joined(separator: " ")
            FileHandle.standardError.write(Data("Error: \(e.message)\nUsage: \(usageString(for: sub))\n  See '\(path) --help' for more information.\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        } catch { exit(withError: error) }
    }

    /// The commands from `root` down to `target` in the subcommand tree, or nil when it is not there.
    static func commandPath(to target: ParsableCommand.Type, from root: ParsableCommand.Type) -> [ParsableCommand.Type]? {
        if root == target { return [root] }
        for sub in root.configuration.subcommands {
            if let path = commandPath(to: target, from: sub) { return [root] + path }
        }
        return nil
    }

    static let configuration = CommandConfiguration(
        commandName: "ssmsam",
        abstract: "Segment Anything (SAM) and SSM-SAM on the CPU: convert, run, meta-train, publish, verify.",
        discussion: """
            Examples:
              ssmsam doctor
              ssmsam segment --model mobile_sam --image ct.png --point 300,240 --out mask.png
              ssmsam demo
            """,
        version: ToolkitVersion.string,
        subcommands: [DoctorCommand.self, InspectCommand.self, ConvertCommand.self, EncodeCommand.self,
                      SegmentCommand.self, DemoCommand.self, DataCommand.self, SSMCommand.self, MetaTrainCommand.self,
                      AdaptCommand.self, EvalCommand.self, AblateCommand.self, ParityCommand.self, ZooCommand.self])
}
