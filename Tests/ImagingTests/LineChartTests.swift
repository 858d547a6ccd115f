import Imaging
import XCTest

/// The loss-curve chart: series drawn in their colours inside the frame, a falling curve drawn falling.
final class LineChartTests: XCTestCase {
    func testSeriesAreDrawnInTheirColoursAndAFallingCurveFalls() throws {
        let falling = [1.0, 0.8, 0.7, 0.65, 0.6], flat = [0.9, 0.9, 0.9, 0.9, 0.9]
        let image = LineChart.render([.init(falling, colour: .red), .init(flat, colour: .green)], width: 200, height: 120)
        XCTAssertEqual([image.width, image.height, image.channels], [200, 120, 3])
        func rows(of c: RGB) -> [Int: [Int]] {
            var out: [Int: [Int]] = [:]
            for y in 0..<image.height { for x in 0..<image.width where image[x, y, 0] == c.r && image[x, y, 1] == c.g
                && image[x, y, 2] == c.b { out[x, default: []].append(y) } }
            return out
        }
        let red = rows(of: .red), green = rows(of: .green)
        XCTAssertFalse(red.isEmpty)
        XCTAssertFalse(green.isEmpty)
        // Image rows grow downwards: the falling series' first point is above its last.
        let firstX = try XCTUnwrap(red.keys.min()), lastX = try XCTUnwrap(red.keys.max())
        XCTAssertLessThan(red[firstX]!.min()!, red[lastX]!.min()!)
        // The flat series stays on one band of rows.
        let greenRows = Set(green.values.flatMap { $0 })
        XCTAssertLessThanOrEqual(greenRows.count, 6)
        XCTAssertEqual(LineChart.render([], width: 10, height: 10).pixels, [UInt8](repeating: 255, count: 300), "no data: a blank chart")
    }

    func testALabelledSeriesGetsALegendSwatchTopRight() {
        let falling = [1.0, 0.8, 0.7, 0.65, 0.6]
        func redTopRight(_ image: Image8) -> Int {
            var n = 0
            for y in 12..<32 { for x in 120..<188 where image[x, y, 0] == RGB.red.r && image[x, y, 1] == RGB.red.g && image[x, y, 2] == RGB.red.b { n += 1 } }
            return n
        }
        let plain = LineChart.render([.init(falling, colour: .red)], width: 200, height: 120)
        let labelled = LineChart.render([.init(falling, colour: .red, label: "loss")], xLabel: "epoch", width: 200, height: 120)
        XCTAssertEqual(redTopRight(plain), 0, "the falling curve itself stays out of the legend's corner")
        XCTAssertGreaterThan(redTopRight(labelled), 20, "the legend's swatch in the series' colour")
        XCTAssertNotEqual(plain.pixels, labelled.pixels)
    }
}
