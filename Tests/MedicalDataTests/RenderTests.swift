import Foundation
import Imaging
import MedicalData
import XCTest

/// Slice rendering: radiological layout and overlays, checked on the real CT.
final class RenderTests: XCTestCase {
    func testRenderedSliceHasLiverOnTheImageLeftAndSpleenOnTheRight() throws {
        try TestPaths.requireCT()
        let v = try NIfTIReader.readVolume(TestPaths.ct)
        let l = try NIfTIReader.readLabels(TestPaths.labels, matching: v)
        let liver = RGB(235, 120, 40), spleen = RGB(60, 130, 245)
        let image = try SliceRenderer.render(v, slice: 15, preset: .ct, overlays: [
            .init(mask: l.mask(slice: 15, label: 5), colour: liver, style: .contour(thickness: 1)),
            .init(mask: l.mask(slice: 15, label: 1), colour: spleen, style: .contour(thickness: 1)),
        ])
        XCTAssertEqual([image.width, image.height, image.channels], [122, 101, 3])
        func columns(of c: RGB) -> [Int] {
            var xs: [Int] = []
            for y in 0..<image.height {
                for x in 0..<image.width where image[x, y, 0] == c.r && image[x, y, 1] == c.g && image[x, y, 2] == c.b { xs.append(x) }
            }
            return xs
        }
        let lx = columns(of: liver), sx = columns(of: spleen)
        XCTAssertFalse(lx.isEmpty)
        XCTAssertFalse(sx.isEmpty)
        // The patient's right (liver) is on the image's left; the spleen on the right.
        XCTAssertLessThan(Double(lx.reduce(0, +)) / Double(lx.count), 61)
        XCTAssertGreaterThan(Double(sx.reduce(0, +)) / Double(sx.count), 61)

        let dir = try TestPaths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("slice.png")
        try PNGCodec.write(image, to: url)
        XCTAssertEqual(try ImageIO.read(url), image)
    }

    func testDisplayLayoutReversesBothAxes() {
        // 3x2 slice, x fastest: voxel (i, j) = 10 j + i.
        let values = [0, 1, 2, 10, 11, 12]
        XCTAssertEqual(SliceRenderer.display(values, width: 3, height: 2), [12, 11, 10, 2, 1, 0])
    }
}
