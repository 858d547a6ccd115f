import ArgumentParser
import XCTest
@testable import ssmsam

/// `meta-train`'s organ options are checked before anything is written: a misspelt or refused organ leaves no
/// run folder behind, and `--plan` (which carries its own organs) refuses them.
final class MetaTrainOrganOptionsTests: XCTestCase {
    private func run(_ arguments: [String]) throws -> (error: Error?, out: URL) {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("meta-train-organs-\(UUID().uuidString)")
        let command = try MetaTrainCommand.parse(arguments + ["--out", out.path])
        do { try command.run() } catch { return (error, out) }
        return (nil, out)
    }

    func testABadOrganLeavesNoRunFolder() throws {
        let data = ["--volume", "/nonexistent/ct.nii.gz", "--labels", "/nonexistent/labels.nii.gz"]
        for organs in [["--test-organ", "liver", "--training-organs", "aorta"],        // not in the totalseg map
                       ["--test-organ", "liver", "--training-organs", "spleen,liver"], // the test organ
                       ["--test-organ", "pancreas"]] {
            let (error, out) = try run(data + organs)
            XCTAssertNotNil(error, "\(organs)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "\(organs): \(out.path) was created")
        }
    }

    func testAPlanRefusesOrganOptions() throws {
        for organs in [["--test-organ", "liver"], ["--training-organs", "all"]] {
            let (error, out) = try run(["--plan", "/nonexistent/PLAN.json"] + organs)
            let message = error.map { ($0 as? ValidationError)?.message ?? "\($0)" } ?? ""
            XCTAssertTrue(message.contains("--plan carries its own"), "\(organs): \(message)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        }
    }
}
