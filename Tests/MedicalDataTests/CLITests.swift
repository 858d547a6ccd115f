import Foundation
import TestSupport
import XCTest

/// `ssmsam data ...` as a process: output on the real CT, and exit code 1 with a clear message on bad input.
final class CLITests: XCTestCase {
    func run(_ args: [String]) throws -> (code: Int32, out: String, err: String) {
        try SSMSAMProcess.run(args, near: Bundle(for: Self.self))
    }

    func testInspectJSON() throws {
        try TestPaths.requireCT()
        let r = try run(["data", "inspect", TestPaths.ct.path, "--labels", TestPaths.labels.path, "--preset", "totalseg", "--json"])
        XCTAssertEqual(r.code, 0, r.err)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        XCTAssertEqual(json["shape"] as? [Int], [122, 101, 30])
        XCTAssertEqual(json["spacing"] as? [Double], [3, 3, 3])
        XCTAssertEqual(json["orientation"] as? String, "RAS")
        let organs = try XCTUnwrap(json["organs"] as? [String: [String: Any]])
        XCTAssertEqual(organs["liver"]?["voxels"] as? Int, 38634)
        XCTAssertEqual(organs["liver"]?["slices"] as? [Int], [0, 29])
        XCTAssertEqual(organs["right_kidney"]?["slices"] as? [Int], [0, 18])
    }

    func testBadInputExitsWithOneAndAMessage() throws {
        try TestPaths.requireCT()
        let missing = try run(["data", "inspect", "/nonexistent/ct.nii.gz"])
        XCTAssertEqual(missing.code, 1)
        XCTAssertTrue(missing.err.contains("/nonexistent/ct.nii.gz: no such file"), missing.err)
        let organ = try run(["data", "episodes", TestPaths.ct.path, "--labels", TestPaths.labels.path, "--organ", "pancreas"])
        XCTAssertEqual(organ.code, 1)
        XCTAssertTrue(organ.err.contains("unknown organ 'pancreas'"), organ.err)
        let grid = try run(["data", "inspect", TestPaths.ct.path, "--labels", TestPaths.fixture("grid_labels.nii.gz").path])
        XCTAssertEqual(grid.code, 1)
        XCTAssertTrue(grid.err.contains("dims [4, 4, 3] differ"), grid.err)
        let slice = try run(["data", "render", TestPaths.ct.path, "--slice", "30", "-o", "/tmp/never.png"])
        XCTAssertEqual(slice.code, 1)
        XCTAssertTrue(slice.err.contains("slice 30 is outside 0...29"), slice.err)
    }

    func testEpisodesListing() throws {
        try TestPaths.requireCT()
        let r = try run(["data", "episodes", TestPaths.ct.path, "--labels", TestPaths.labels.path, "--organ", "liver", "--chunks", "3"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("chunk 1: slices 10-19  support 15"), r.out)
    }
}
