import Foundation
import XCTest
import SAM
import TensorCore

/// SAM's prompt encoder and mask decoder on the REAL MobileSAM weights against the reference, both fed the
/// same real image embedding (fixture: scripts/make_decoder_fixtures.py).
final class MobileSAMDecoderParityTests: XCTestCase {
    func testDecoderMatchesReferenceOnRealWeights() throws {
        let model = try MobileSAMFixtures.realModel()
        let (ref, _, meta) = try MobileSAMFixtures.tensors("mobilesam_decoder.safetensors")
        let cases = try JSONSerialization.jsonObject(with: Data(meta["cases"]!.utf8)) as! [String: [String: Any]]
        XCTAssertEqual(cases.count, 3)
        let embedding = try XCTUnwrap(ref["embedding"])
        for (name, c) in cases.sorted(by: { $0.key < $1.key }) {
            var points: [PromptPoint] = []
            if let pts = c["points"] as? [[Double]], let labels = c["labels"] as? [Int] {
                points = zip(pts, labels).map { PromptPoint(x: Float($0[0]), y: Float($0[1]), label: $1) }
            }
            let box = (c["box"] as? [Double]).map { PromptBox(x0: Float($0[0]), y0: Float($0[1]), x1: Float($0[2]), y1: Float($0[3])) }
            let out = model.predict(embedding: embedding, points: points, box: box, multimask: c["multimask"] as! Bool)
            let expected = try XCTUnwrap(ref["\(name).low_res_logits"])
            assertParity(out.lowResLogits, expected, tolerance: 1e-4, "\(name): low-res logits")
            assertParity(out.iou, ref["\(name).iou"], tolerance: 1e-4, "\(name): IoU predictions")
            // A pixel whose reference logit lies within the logits' tolerance of 0 may fall on either side
            // (float32 summation order differs by GEMM engine: one such pixel under OpenBLAS on an AMD Zen 4);
            // every other pixel must be on the reference's side.
            let band = 1e-4 * (expected.data.map(abs).max() ?? 0)
            let differing = zip(out.lowResLogits.data, expected.data).filter { ($0 > 0) != ($1 > 0) && abs($1) > band }.count
            XCTAssertEqual(differing, 0, "\(name): binary low-res masks differ in \(differing) pixels outside ±\(band) of 0")
        }
    }
}
