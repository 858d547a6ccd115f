import Foundation
import Imaging
import XCTest

/// PNG/JPEG through libpng/libjpeg-turbo against what Pillow wrote and decodes (scripts/make_data_fixtures.py).
final class ImagingTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("imgtests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func expected() throws -> [String: [String: Any]] {
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("images_expected.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
    }

    func check(_ name: String, tolerance: Int) throws {
        let e = try XCTUnwrap(try expected()[name])
        let image = try ImageIO.read(Self.fixtures.appendingPathComponent(name))
        XCTAssertEqual(image.width, e["width"] as? Int, name)
        XCTAssertEqual(image.height, e["height"] as? Int, name)
        XCTAssertEqual(image.channels, e["channels"] as? Int, name)
        let want = try XCTUnwrap(e["pixels"] as? [Int])
        XCTAssertEqual(image.pixels.count, want.count, name)
        let worst = zip(image.pixels, want).map { abs(Int($0) - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, tolerance, "\(name): largest difference \(worst)")
    }

    func testPNGColourTypesAndDepths() throws {
        for name in ["rgb.png", "grey.png", "rgba.png", "palette.png", "grey16.png", "bilevel.png"] {
            try check(name, tolerance: 0)
        }
    }

    /// Pillow's and the system's libjpeg may differ by a rounding step in colour conversion.
    func testJPEGRead() throws {
        try check("rgb.jpg", tolerance: 2)
        try check("grey.jpg", tolerance: 1)
    }

    func testPNGRoundTripGreyAndRGB() throws {
        var grey = Image8(width: 7, height: 5, channels: 1)
        for i in 0..<grey.pixels.count { grey.pixels[i] = UInt8((i * 37) % 256) }
        var rgb = Image8(width: 3, height: 4, channels: 3)
        for i in 0..<rgb.pixels.count { rgb.pixels[i] = UInt8((i * 91 + 5) % 256) }
        for (name, image) in [("g.png", grey), ("c.png", rgb)] {
            let url = dir.appendingPathComponent(name)
            try PNGCodec.write(image, to: url)
            XCTAssertEqual(try PNGCodec.read(url), image)
        }
        // Atomic: no temporary file left beside the output.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["c.png", "g.png"])
    }

    func testErrorsNameTheFile() throws {
        let missing = dir.appendingPathComponent("missing.png")
        XCTAssertThrowsError(try ImageIO.read(missing)) { XCTAssertEqual("\($0)", "\(missing.path): no such file") }
        let text = dir.appendingPathComponent("text.png")
        try Data("hello".utf8).write(to: text)
        XCTAssertThrowsError(try ImageIO.read(text)) {
            XCTAssertTrue("\($0)".hasPrefix(text.path + ": not a PNG or JPEG image"), "\($0)")
        }
        XCTAssertThrowsError(try PNGCodec.read(text)) { XCTAssertTrue("\($0)".contains("not a PNG file"), "\($0)") }
        let png = try Data(contentsOf: Self.fixtures.appendingPathComponent("rgba.png"))
        let cut = dir.appendingPathComponent("cut.png")
        try png.prefix(png.count / 2).write(to: cut)
        XCTAssertThrowsError(try ImageIO.read(cut)) { XCTAssertTrue("\($0)".hasPrefix(cut.path + ": libpng"), "\($0)") }
        let jpg = try Data(contentsOf: Self.fixtures.appendingPathComponent("rgb.jpg"))
        let cutJ = dir.appendingPathComponent("cut.jpg")
        try jpg.prefix(jpg.count / 2).write(to: cutJ)
        XCTAssertThrowsError(try ImageIO.read(cutJ)) { XCTAssertTrue("\($0)".hasPrefix(cutJ.path + ": libjpeg"), "\($0)") }
        let noDir = dir.appendingPathComponent("no/such/dir/x.png")
        XCTAssertThrowsError(try PNGCodec.write(Image8(width: 1, height: 1, channels: 1), to: noDir)) {
            XCTAssertTrue("\($0)".contains("does not exist"), "\($0)")
        }
    }

    func testImageShapeIsChecked() {
        XCTAssertThrowsError(try Image8(width: 2, height: 2, channels: 3, pixels: [1, 2, 3])) {
            XCTAssertTrue("\($0)".contains("expected 2x2x3 = 12 samples, got 3"), "\($0)")
        }
        XCTAssertThrowsError(try Image8(width: 1, height: 1, channels: 2, pixels: [1, 2]))
    }

    func testTintContourAndPoints() throws {
        let base = Image8(width: 5, height: 5, channels: 1, fill: 100)
        var mask = [UInt8](repeating: 0, count: 25)
        for y in 1...3 { for x in 1...3 { mask[y * 5 + x] = 1 } }
        let tinted = try base.tinted(mask: mask, colour: RGB(200, 0, 0), alpha: 0.5)
        XCTAssertEqual(tinted.channels, 3)
        XCTAssertEqual([tinted[2, 2, 0], tinted[2, 2, 1], tinted[2, 2, 2]], [150, 50, 50])
        XCTAssertEqual([tinted[0, 0, 0], tinted[0, 0, 1]], [100, 100])
        let contour = try base.contoured(mask: mask, colour: .green)
        // The 3x3 square's ring is drawn, its centre is not.
        XCTAssertEqual(contour[1, 1, 1], RGB.green.g)
        XCTAssertEqual(contour[2, 2, 1], 100)
        XCTAssertEqual(Image8.boundary(mask: mask, width: 5, height: 5).count, 8)
        let marked = base.marked(points: [(x: 0, y: 0)], colour: .red, radius: 1)
        XCTAssertEqual(marked[0, 0, 0], RGB.red.r)
        XCTAssertEqual(marked[4, 4, 0], 100)
        XCTAssertThrowsError(try base.tinted(mask: [1], colour: .red, alpha: 1))
    }

    func testGreyAndRGBConversions() throws {
        let g = try Image8(width: 2, height: 1, channels: 1, pixels: [10, 200])
        XCTAssertEqual(g.rgb().pixels, [10, 10, 10, 200, 200, 200])
        XCTAssertEqual(g.rgb().grey(), g)
    }
}
