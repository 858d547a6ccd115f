import ArgumentParser
import Diagnostics
import Foundation
import Zoo

/// `ssmsam zoo verify`: exit 0 only when every check passes; otherwise each difference is printed.
struct ZooVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Verify an installed package, a .tar archive or a package folder.",
        discussion: """
            Checks the manifest's schema, the size and sha256 of every file, unlisted files, and a delta's base (installed, right sha256). --numbers reruns the golden inputs and compares with the tolerance.

            Examples:
              ssmsam zoo verify ssmsam/mobile-liver@1.0.0 --numbers
              ssmsam zoo verify mobile-liver.tar --strict --json
            """)

    @Argument(help: "ID[@VERSION], a .tar archive, or a package folder.") var entry: String
    @Flag(help: "Rerun the golden inputs (base + delta for a delta) and compare with the stored outputs.") var numbers = false
    @Flag(help: "Fail unless a key the registry trusts signed the package.") var strict = false
    @Flag(help: "Print the report as JSON (reference, ok, signature, passed, issues with file and message); the exit code is the same.") var json = false
    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try CLIErrors.report {
            let registry = registryOptions.open()
            let fm = FileManager.default
            var isDir: ObjCBool = false
            let report: VerificationReport
            if fm.fileExists(atPath: entry, isDirectory: &isDir) {
                var dir = URL(fileURLWithPath: entry)
                var tmp: URL? = nil
                defer { if let tmp { try? fm.removeItem(at: tmp) } }
                if !isDir.boolValue {
                    tmp = fm.temporaryDirectory.appendingPathComponent("ssmsam-verify-\(getpid())-\(UUID().uuidString.prefix(8))")
                    try fm.createDirectory(at: tmp!, withIntermediateDirectories: true)
                    try TarArchive.unpack(dir, into: tmp!)
                    dir = tmp!
                }
                report = try ProgressBar.encoding("encoder (golden numbers)") { try registry.verify(dir, numbers: numbers, strict: strict) }
            } else {
                report = try ProgressBar.encoding("encoder (golden numbers)") { try registry.verify(try ModelReference(parsing: entry), numbers: numbers, strict: strict) }
            }
            if json {
                let object: [String: Any] = ["reference": report.reference, "ok": report.ok, "signature": report.signature.short,
                                             "signature_detail": report.signature.description, "passed": report.passed,
                                             "issues": report.issues.map { ["file": $0.file, "message": $0.message] }]
                try JSONOutput.print(object)
            } else {
                printReport(report)
            }
            guard report.ok else {
                throw ToolkitError(.verificationFailed, subject: entry, "verification failed: \(report.issues.count) issue\(report.issues.count == 1 ? "" : "s")")
            }
            if !json { print("verified \(report.reference)") }
        }
    }
}
