import Foundation

/// Runs the built `ssmsam` executable, for tests of the CLI as a user sees it (exit codes, messages).
public enum SSMSAMProcess {
    public struct Failure: Error, CustomStringConvertible { public let description: String }

    /// The executable beside the test bundle in `.build/<configuration>/` (`swift test` builds it).
    public static func binary(near bundle: Bundle) throws -> URL {
        let dir = bundle.bundleURL.deletingLastPathComponent()
        for candidate in [dir, bundle.bundleURL, Bundle.main.bundleURL] {
            let url = candidate.appendingPathComponent("ssmsam")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw Failure(description: "the ssmsam executable is not built beside \(bundle.bundleURL.path)")
    }

    /// Runs `ssmsam args...` and returns its exit code, standard output and standard error.
    public static func run(_ args: [String], near bundle: Bundle, environment: [String: String]? = nil) throws
        -> (code: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = try binary(near: bundle)
        p.arguments = args
        if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes before waiting, so a full pipe cannot block the child.
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}
