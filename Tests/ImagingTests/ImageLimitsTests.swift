import Foundation
import Imaging
import XCTest

/// Images above the pixel limit are refused from their header, before anything is allocated, naming the size
/// and how to raise the limit; `SSMSAM_MAX_PIXELS` sets it.
final class ImageLimitsTests: XCTestCase {
    /// A PNG that claims 20000 x 20000 pixels: a valid signature, IHDR and an empty IDAT, 45 bytes.
    func testAHugePNGHeaderIsRefusedBeforeDecoding() throws {
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var ihdr = Data("IHDR".utf8)
        for v in [UInt32(20000), UInt32(20000)] { withUnsafeBytes(of: v.bigEndian) { ihdr.append(contentsOf: $0) } }
        ihdr.append(contentsOf: [8, 0, 0, 0, 0])  // 8-bit grey, deflate, no filter, no interlace
        withUnsafeBytes(of: UInt32(13).bigEndian) { png.append(contentsOf: $0) }
        png.append(ihdr)
        withUnsafeBytes(of: crc32(ihdr).bigEndian) { png.append(contentsOf: $0) }
        // An empty IDAT: libpng reads the header chunks up to the first IDAT before it reports the size.
        withUnsafeBytes(of: UInt32(0).bigEndian) { png.append(contentsOf: $0) }
        png.append(Data("IDAT".utf8))
        withUnsafeBytes(of: crc32(Data("IDAT".utf8)).bigEndian) { png.append(contentsOf: $0) }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("huge-\(UUID().uuidString.prefix(8)).png")
        try png.write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        XCTAssertThrowsError(try ImageIO.read(url)) { e in
            XCTAssert("\(e)".contains("image is 20000 x 20000 pixels (400.0 megapixels), above the limit of 100.0 megapixels; set SSMSAM_MAX_PIXELS"), "\(e)")
        }
    }

    func testTheLimitIsConfigurableForPNGAndJPEG() throws {
        setenv("SSMSAM_MAX_PIXELS", "100", 1)
        defer { unsetenv("SSMSAM_MAX_PIXELS") }
        for name in ["grey.png", "rgb.jpg"] {
            XCTAssertThrowsError(try ImageIO.read(ImagingTests.fixtures.appendingPathComponent(name))) { e in
                XCTAssert("\(e)".contains("above the limit of 0.0 megapixels"), "\(name): \(e)")
            }
        }
        unsetenv("SSMSAM_MAX_PIXELS")
        XCTAssertNoThrow(try ImageIO.read(ImagingTests.fixtures.appendingPathComponent("rgb.jpg")))
    }

    func testAFolderIsNamedAsOne() {
        XCTAssertThrowsError(try ImageIO.read(FileManager.default.temporaryDirectory)) { e in
            XCTAssert("\(e)".contains("is a folder, expected a PNG or JPEG image file"), "\(e)")
        }
    }

    private func crc32(_ data: Data) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in data {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return c ^ 0xFFFF_FFFF
    }
}
