import Foundation
import XCTest
import Diagnostics
import SAM
import TensorCore

/// Resize, normalisation, padding and coordinates against PIL + segment_anything (fixtures by script).
final class PreprocessingTests: XCTestCase {
    func testMatchesReferencePreprocessing() throws {
        let (dict, meta) = try SAMFixtures.file("preprocess.safetensors")
        let image = dict["image"]!  // uint8 (75, 100, 3)
        let (h, w) = (image.shape[0], image.shape[1])
        let pre = SAMPreprocessing(modelSize: 128)
        let target = try JSONSerialization.jsonObject(with: Data(meta["target"]!.utf8)) as! [Int]
        let size = pre.resizedSize(height: h, width: w)
        XCTAssertEqual([size.height, size.width], target)
        let (input, _) = try pre.modelInput(rgb: [UInt8](image.bytes), width: w, height: h)
        // Pillow's fixed-point resize reproduced bit for bit: the model input matches to float rounding.
        assertParity(input, dict["model_input"]!.floatTensor, tolerance: 1e-6, "model input")
        let big = dict["image_down"]!
        let (bigInput, _) = try pre.modelInput(rgb: [UInt8](big.bytes), width: big.shape[1], height: big.shape[0])
        assertParity(bigInput, dict["model_input_down"]!.floatTensor, tolerance: 1e-6, "model input of a shrunk image")
        let original = dict["coords_original"]!.floatTensor, resized = dict["coords_resized"]!.floatTensor
        for i in 0..<2 {
            let p = pre.transform(x: original.data[2 * i], y: original.data[2 * i + 1], originalHeight: h, originalWidth: w)
            XCTAssertEqual(p.x, resized.data[2 * i], accuracy: 1e-5)
            XCTAssertEqual(p.y, resized.data[2 * i + 1], accuracy: 1e-5)
        }
    }

    func testRefusesAnImageThatResizesToNothing() {
        let pre = SAMPreprocessing(modelSize: 128)
        XCTAssertThrowsError(try pre.modelInput(rgb: [UInt8](repeating: 0, count: 3000 * 3), width: 3000, height: 1)) { e in
            XCTAssertEqual((e as? ToolkitError)?.kind, .unsupported, "\(e)")
            XCTAssertTrue("\(e)".contains("3000 x 1"), "\(e)")
        }
    }

    func testRefusesPixelsThatDoNotFitTheSize() {
        XCTAssertThrowsError(try SAMPreprocessing(modelSize: 128).modelInput(rgb: [1, 2, 3], width: 2, height: 1)) { e in
            XCTAssertEqual((e as? ToolkitError)?.kind, .invalidArgument, "\(e)")
            XCTAssertEqual("\(e)", "3 bytes for a 2 x 1 RGB image, expected 6")
        }
    }
}
