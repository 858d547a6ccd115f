import Diagnostics
import Foundation
import TensorCore
import XCTest
@testable import Formats

final class RoundTripTests: XCTestCase {
    private var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("formats-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func testLegacyCheckpoint() throws {
        let c = try CheckpointReader.read(Fixtures.url("sam_legacy.pth"))
        XCTAssertEqual(c.format, .pytorchLegacy)
        assertMatches(c.tensors, try Fixtures.expected("sam_expected.json"))
    }

    func testReferenceSafetensors() throws {
        let c = try CheckpointReader.read(Fixtures.url("sam.safetensors"))
        XCTAssertEqual(c.format, .safetensors)
        XCTAssertEqual(c.metadata["source"], "fixture")
        assertMatches(c.tensors, try Fixtures.expected("sam_expected.json"))
    }

    func testPthToSafetensorsToPth() throws {
        let original = try CheckpointReader.read(Fixtures.url("sam_zip.pth")).tensors
        let st = tmp.appendingPathComponent("sam.safetensors")
        try SafeTensors.write(original, to: st)
        let back = try CheckpointReader.read(st).tensors
        XCTAssertEqual(Set(back.names), Set(original.names))
        let pth = tmp.appendingPathComponent("sam_back.pth")
        try TorchZipWriter.write(back, to: pth)
        let again = try CheckpointReader.read(pth)
        XCTAssertEqual(again.format, .pytorchZip)
        XCTAssertEqual(again.tensors.names, back.names)
        for name in original.names { XCTAssertEqual(again.tensors[name], original[name], name) }
        // Every stored entry's data starts on a 64-byte boundary, as torch's writer guarantees.
        let bytes = [UInt8](try Data(contentsOf: pth))
        var p = 0
        while p + 30 <= bytes.count, bytes[p ..< p + 4] == [0x50, 0x4b, 3, 4] {
            let n = Int(bytes[p + 26]) | Int(bytes[p + 27]) << 8, e = Int(bytes[p + 28]) | Int(bytes[p + 29]) << 8
            let size = Int(bytes[p + 18]) | Int(bytes[p + 19]) << 8 | Int(bytes[p + 20]) << 16 | Int(bytes[p + 21]) << 24
            XCTAssertEqual((p + 30 + n + e) % 64, 0)
            p += 30 + n + e + size
        }
    }

    func testFormatIsDetectedByContentNotExtension() throws {
        for (fixture, format) in [("sam_zip.pth", CheckpointFormat.pytorchZip), ("sam_legacy.pth", .pytorchLegacy),
                                  ("sam.safetensors", .safetensors), ("a_f32.npy", .npy), ("arrays.npz", .npz)] {
            let renamed = tmp.appendingPathComponent("weights.bin")
            try? FileManager.default.removeItem(at: renamed)
            try FileManager.default.copyItem(at: Fixtures.url(fixture), to: renamed)
            XCTAssertEqual(try CheckpointReader.read(renamed).format, format, fixture)
        }
    }

    func testFailedWriteLeavesNothing() throws {
        var dict = StateDict()
        dict["w"] = StoredTensor(dtype: .f32, shape: [2], bytes: Data(count: 8))
        let missing = tmp.appendingPathComponent("no/such/dir/w.pth")
        XCTAssertThrowsError(try TorchZipWriter.write(dict, to: missing)) { e in
            XCTAssertEqual((e as? ToolkitError)?.kind, .writeFailed, "\(e)")
            XCTAssertEqual((e as? ToolkitError)?.subject, missing.path, "\(e)")
        }
        struct Boom: Error {}
        let out = tmp.appendingPathComponent("w.safetensors")
        XCTAssertThrowsError(try AtomicFile.write(to: out) { h in try h.write(contentsOf: Data([1, 2, 3])); throw Boom() })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.path), [])
    }

    func testNumpy() throws {
        let a = try Numpy.read(Fixtures.url("a_f32.npy"))
        XCTAssertEqual(a.shape, [3, 4])
        XCTAssertEqual(a.floatTensor.data, (0 ..< 12).map { Float($0) / 7 })
        let f = try Numpy.read(Fixtures.url("a_f64_fortran.npy"))
        XCTAssertEqual(f.dtype, .f64)
        XCTAssertEqual(f.floatTensor.data, (0 ..< 12).map { Float(Double(Float($0) / 7)) })
        let be = try Numpy.read(Fixtures.url("a_i16_be.npy"))
        XCTAssertEqual(be.dtype, .i16)
        XCTAssertEqual(be.floatTensor.data, [-3, -2, -1, 0, 1, 2])
        let out = tmp.appendingPathComponent("a.npy")
        try Numpy.write(a, to: out)
        XCTAssertEqual(try Numpy.read(out), a)
        XCTAssertEqual(try Data(contentsOf: out).count % 64, (12 * 4) % 64 == 0 ? 0 : 48) // header padded to 64
        for name in ["arrays.npz", "arrays_compressed.npz"] {
            let c = try CheckpointReader.read(Fixtures.url(name))
            XCTAssertEqual(c.format, .npz)
            XCTAssertEqual(c.tensors["weight"], a)
        }
        let z = try Numpy.readArchive(Fixtures.url("arrays.npz"))
        XCTAssertEqual(z.names, ["weight", "bias", "mask"])
        XCTAssertEqual(z["bias"]?.dtype, .i64)
        XCTAssertEqual(z["mask"]?.bytes, Data([1, 0]))
    }
}
