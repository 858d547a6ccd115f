import XCTest
import SAM
import TensorCore

/// `SAMModel.inPrecision(.bf16)`: on a CPU with bf16, the small model's embedding stays within bf16's
/// precision of the reference (segment_anything in fp32) but is not the fp32 result; elsewhere the
/// conversion is refused with the reason.
final class PrecisionTests: XCTestCase {
    func testBF16EncoderOrRefusal() throws {
        let model = try SAMFixtures.model()
        let (ref, _) = try SAMFixtures.outputs()
        let input = try XCTUnwrap(ref["encoder.input"]), expected = try XCTUnwrap(ref["encoder.embedding"])
        if let why = GEMMPrecision.unsupportedReason(.bf16) {
            XCTAssertThrowsError(try model.inPrecision(.bf16)) { XCTAssertTrue("\($0)".contains(why), "\($0)") }
            return
        }
        let bf16 = try model.inPrecision(.bf16)
        XCTAssertEqual(bf16.precision, .bf16)
        XCTAssertEqual(model.precision, .fp32, "the original model is unchanged")
        let e16 = bf16.encode(input).embedding, e32 = model.encode(input).embedding
        func relative(_ a: Tensor, _ b: Tensor) -> Float {
            let d = zip(a.data, b.data).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
            return (d / b.data.map { $0 * $0 }.reduce(0, +)).squareRoot()
        }
        let err16 = relative(e16, expected), err32 = relative(e32, expected)
        XCTAssertLessThan(err16, 2e-2, "bf16 keeps 8 significant bits: the embedding within 2% of the reference")
        XCTAssertGreaterThan(err16, 10 * err32, "bf16 must actually run (its error is well above fp32's)")
        XCTAssertEqual(try bf16.inPrecision(.fp32).encode(input).embedding, e32, "back to fp32 gives the fp32 result")
    }
}
