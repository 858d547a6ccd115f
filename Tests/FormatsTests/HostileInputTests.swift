import Diagnostics
import Foundation
import XCTest
@testable import Formats

/// Broken and hostile files: each must fail with an error that names the file and the problem.
final class HostileInputTests: XCTestCase {
    private func assertFails(_ name: String, contains needles: [String], key: String? = nil,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try CheckpointReader.read(Fixtures.url(name), key: key), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue((error as? ToolkitError)?.subject.hasSuffix(name) == true, "not a ToolkitError about the file: \(text)", file: file, line: line)
            XCTAssertTrue(text.contains(name), "error does not name the file: \(text)", file: file, line: line)
            for n in needles { XCTAssertTrue(text.contains(n), "'\(n)' not in: \(text)", file: file, line: line) }
        }
    }

    func testDangerousGlobalsAreRefusedByName() {
        assertFails("bad_os_system.pth", contains: ["os.system", "allow-list"])
        assertFails("bad_builtins_eval.pth", contains: ["builtins.eval", "allow-list"])
        assertFails("bad_stack_global.pth", contains: ["os.system"])
        assertFails("bad_opcode.pth", contains: ["INST"])
    }

    func testStorageProblems() {
        assertFails("bad_missing_storage.pth", contains: ["storage '7'", "missing"])
        assertFails("bad_stride.pth", contains: ["past the end", "'w'"])
        assertFails("bad_offset.pth", contains: ["past the end"])
        assertFails("bad_numel.pth", contains: ["600"])
        assertFails("bad_legacy_view_negative.pth", contains: ["storage view", "lies outside storage '0'"])
        assertFails("bad_legacy_view_past_end.pth", contains: ["storage view [5, 5 + 4)", "lies outside"])
    }

    func testBrokenContainers() {
        assertFails("bad_truncated.pth", contains: [])
        assertFails("bad_magic.pth", contains: ["not a recognised"])
        assertFails("bad_header_long.safetensors", contains: ["longer than the file"])
        assertFails("bad_overlap.safetensors", contains: ["overlaps"])
        // Found by the ONNX fuzz target: a 362-byte model whose shape claims 3.2 GB of typed values.
        assertFails("fuzz_onnx_huge_typed.onnx", contains: ["needs 1601150976 values", "int32_data holds 0"])
    }
}
