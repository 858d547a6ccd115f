import SSMSAM
import TensorCore
import XCTest

final class PointPickerTests: XCTestCase {
    /// A 64 x 64 frame with a 10 x 12 rectangle at rows 20..<30, columns 30..<42; the image covers 60 x 50.
    private let mask: Tensor = {
        var m = Tensor.zeros([1, 1, 64, 64])
        for r in 20..<30 { for c in 30..<42 { m[0, 0, r, c] = 1 } }
        return m
    }()

    func testPointsComeFromTheSupportMaskAndItsBoundaryBand() {
        let picker = PointPicker(positives: 6, negatives: 5, bandWidth: 3)
        let points = picker.pick(mask: mask, valid: (height: 60, width: 50), seed: 4)
        XCTAssertEqual(points.filter(\.positive).count, 6)
        XCTAssertEqual(points.filter { !$0.positive }.count, 5)
        for p in points {
            let (c, r) = (Int(p.x), Int(p.y))
            XCTAssertEqual(p.x - Float(c), 0.5, "pixel centres")
            XCTAssertEqual(mask[0, 0, r, c] > 0.5, p.positive, "\(p)")
            XCTAssertTrue(r < 60 && c < 50, "never in the padding: \(p)")
            if !p.positive {
                XCTAssertTrue((17..<33).contains(r) && (27..<45).contains(c), "negatives in the 3-pixel band: \(p)")
            }
        }
        XCTAssertEqual(Set(points.map { "\($0.x),\($0.y)" }).count, points.count, "without replacement")
        XCTAssertEqual(points, picker.pick(mask: mask, valid: (height: 60, width: 50), seed: 4), "deterministic")
        XCTAssertNotEqual(points, picker.pick(mask: mask, valid: (height: 60, width: 50), seed: 5))
    }

    func testNarrowBandFallsBackToFartherNegativesAndEmptyMaskGivesNegativesOnly() {
        let picker = PointPicker(positives: 2, negatives: 300, bandWidth: 1)
        let points = picker.pick(mask: mask, valid: (height: 64, width: 64), seed: 1)
        XCTAssertEqual(points.filter { !$0.positive }.count, 300, "the 1-pixel band has 48 pixels; the rest come from farther away")
        let empty = PointPicker().pick(mask: Tensor.zeros([1, 1, 64, 64]), valid: (height: 64, width: 64), seed: 1)
        XCTAssertEqual(empty.count, 8)
        XCTAssertTrue(empty.allSatisfy { !$0.positive })
    }
}
