import ArgumentParser
import Foundation
import TestSupport
import XCTest
@testable import ssmsam

/// Every command's `--help` shows at least one example, and every example is a command line that parses
/// (and validates) as that very command: an example a user copies must work.
final class CommandExamplesTests: XCTestCase {
    /// The command types of the tree under `root`, each with its path of command names.
    private func commands(_ root: ParsableCommand.Type, path: [String] = []) -> [(path: [String], type: ParsableCommand.Type)] {
        let name = root.configuration.commandName ?? ""
        let here = path + [name]
        return [(here, root)] + root.configuration.subcommands.flatMap { commands($0, path: here) }
    }

    /// The example lines of a discussion: the indented lines after "Example:" or "Examples:".
    private func examples(in discussion: String) -> [String] {
        var inside = false, found: [String] = []
        for line in discussion.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed == "Example:" || trimmed == "Examples:" { inside = true; continue }
            if inside {
                guard line.hasPrefix("  "), trimmed.hasPrefix("ssmsam") else { inside = false; continue }
                found.append(trimmed)
            }
        }
        return found
    }

    func testEveryCommandShowsAnExampleThatParsesAsItself() throws {
        let tree = commands(SSMSAMCommand.self)
        XCTAssertGreaterThan(tree.count, 30, "the command tree was not walked")
        for (path, type) in tree {
            let lines = examples(in: type.configuration.discussion)
            XCTAssertFalse(lines.isEmpty, "`\(path.joined(separator: " ")) --help` shows no example")
            for line in lines {
                let words = line.split(separator: " ").map(String.init)
                do {
                    let parsed = try SSMSAMCommand.parseAsRoot(Array(words.dropFirst()))
                    if type.configuration.subcommands.isEmpty {
                        XCTAssertTrue(Swift.type(of: parsed) == type, "`\(line)` parses as \(Swift.type(of: parsed)), not \(type)")
                    }
                } catch {
                    XCTFail("`\(line)` (in `\(path.joined(separator: " ")) --help`) does not parse: \(SSMSAMCommand.message(for: error))")
                }
            }
        }
    }

    func testHelpTextCarriesTheExamples() throws {
        let help = EncodeCommand.helpMessage(columns: 200)
        XCTAssertTrue(help.contains("ssmsam encode --model vit_b.pth --image ct.png --out embedding.npy"), help)
    }
}

/// `ssmsam doctor --json` as a script reads it: one JSON object with the facts of the text report.
final class DoctorJSONTests: XCTestCase {
    func testDoctorJSON() throws {
        let r = try SSMSAMProcess.run(["doctor", "--json"], near: Bundle(for: Self.self))
        XCTAssertEqual(r.code, 0, r.err)
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], r.out)
        let text = try SSMSAMProcess.run(["doctor"], near: Bundle(for: Self.self)).out
        XCTAssertTrue(text.contains("processor:       \(try XCTUnwrap(o["processor"] as? String))"), text)
        let gemm = try XCTUnwrap(o["gemm"] as? [String: Any])
        XCTAssertTrue(text.contains("GEMM engine:     \(try XCTUnwrap(gemm["summary"] as? String))"), text)
        XCTAssertTrue(["OpenBLAS", "oneDNN"].contains(gemm["engine"] as? String ?? ""), "\(gemm)")
        XCTAssertEqual(o["blas_threads"] as? Int, Int(text.components(separatedBy: "BLAS threads:    ").last!.prefix { $0.isNumber }))
        let env = try XCTUnwrap(o["environment"] as? [String: Any])
        XCTAssertEqual(env["OPENBLAS_CORETYPE"] as? String, ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"])
        XCTAssertNotNil(o["bf16"] as? [String: Any])
        XCTAssertEqual((o["assets"] as? [Any])?.count, 3)
    }
}
