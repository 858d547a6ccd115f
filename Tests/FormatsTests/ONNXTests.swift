import Foundation
import XCTest
@testable import Formats

final class ONNXTests: XCTestCase {
    func testExportsReadBackToTheStateDict() throws {
        let expected = try Fixtures.expected("tiny_expected.json")
        for name in ["tiny_unfolded.onnx", "tiny_folded.onnx", "tiny_external.onnx"] {
            let c = try CheckpointReader.read(Fixtures.url(name))
            XCTAssertEqual(c.format, .onnx)
            assertMatches(c.tensors, expected)
        }
    }

    func testFoldedNamesAreKeptWhenMappingIsOff() throws {
        let raw = try ONNXReader.read(Fixtures.url("tiny_folded.onnx"), mapNames: false)
        XCTAssertEqual(raw["onnx::MatMul_34"]?.shape, [8, 24])
        XCTAssertNil(raw["image_encoder.blocks.0.attn.qkv.weight"])
    }

    func testExternalDataOutsideTheFolderIsRefused() {
        for name in ["bad_external_dotdot.onnx", "bad_external_absolute.onnx"] {
            XCTAssertThrowsError(try CheckpointReader.read(Fixtures.url(name))) { e in
                XCTAssertTrue("\(e)".contains("absolute paths and '..' are refused"), "\(e)")
            }
        }
    }
}

final class ONNXTypedFieldTests: XCTestCase {
    func testTypedFieldsAndConstantNodes() throws {
        let sd = try ONNXReader.read(Fixtures.url("typed.onnx"))
        assertMatches(sd, try Fixtures.expected("typed_expected.json"))
    }
}
