import XCTest
import Diagnostics
import TensorCore

/// Invalid shapes are refused with messages that name both shapes; no silent broadcasting.
final class ShapeErrorTests: XCTestCase {
    func testBroadcastRefusesWhatPyTorchRefuses() throws {
        XCTAssertEqual(try Shape.broadcast([3, 1, 5], [4, 1]), [3, 4, 5])
        XCTAssertThrowsError(try Shape.broadcast([3, 4], [5, 4])) { e in
            XCTAssertEqual((e as? ToolkitError)?.kind, .mismatch, "\(e)")
            XCTAssertTrue("\(e)".contains("[3, 4]") && "\(e)".contains("[5, 4]"), "\(e)")
        }
    }

    func testMatmulShapeErrorsNameBothShapes() {
        XCTAssertThrowsError(try Tensor.matmulShape([2, 3], [4, 5], transposeA: false, transposeB: false)) { e in
            XCTAssertTrue("\(e)".contains("[2, 3]") && "\(e)".contains("[4, 5]"), "\(e)")
        }
        XCTAssertThrowsError(try Tensor.matmulShape([2, 3, 4], [3, 4, 5], transposeA: false, transposeB: false)) { e in
            XCTAssertTrue("\(e)".contains("batch"), "\(e)")
        }
        XCTAssertThrowsError(try Tensor.matmulShape([4], [4, 5], transposeA: false, transposeB: false))
    }

    func testConvGeometryErrors() {
        XCTAssertThrowsError(try Conv2dGeometry(input: [1, 3, 8, 8], weight: [4, 2, 3, 3], stride: (1, 1), padding: (0, 0), groups: 1)) { e in
            XCTAssertTrue("\(e)".contains("[1, 3, 8, 8]") && "\(e)".contains("[4, 2, 3, 3]"), "\(e)")
        }
        XCTAssertThrowsError(try Conv2dGeometry(input: [1, 3, 2, 2], weight: [4, 3, 3, 3], stride: (1, 1), padding: (0, 0), groups: 1))
    }

    func testReshapeErrors() {
        XCTAssertThrowsError(try Shape.resolveReshape([4, 4], count: 12, from: [3, 4]))
        XCTAssertThrowsError(try Shape.resolveReshape([-1, -1], count: 12, from: [3, 4]))
        XCTAssertEqual(try Shape.resolveReshape([2, -1], count: 12, from: [3, 4]), [2, 6])
    }

    func testDTypeRoundTrips() {
        let values: [Float] = [0, 1, -2.5, 65504, 1e-7, .infinity]
        let half = DType.f16.encode(values).withUnsafeBytes { DType.f16.decode($0, count: 6) }
        XCTAssertEqual(half[0...3], values[0...3])
        XCTAssertEqual(half[5], .infinity)
        let bf = DType.bf16.encode([1.00390625, 3.0])  // 1 + 2^-8 rounds to even (1.0) in bfloat16
        XCTAssertEqual(bf, [0x80, 0x3f, 0x40, 0x40])
    }
}
