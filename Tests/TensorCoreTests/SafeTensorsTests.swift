import Foundation
import XCTest
import Formats
import TensorCore

/// The native weight format: reading the reference writer's files, writing files it can read, refusing bad ones.
final class SafeTensorsTests: XCTestCase {
    func testReadsFilesWrittenByTheReferenceLibrary() throws {
        let (dict, meta) = try SafeTensors.read(Fixture.directory.appendingPathComponent("linear.safetensors"))
        XCTAssertEqual(dict["in.w"]?.shape, [6, 8])
        XCTAssertEqual(dict["in.w"]?.dtype, .f32)
        XCTAssertNotNil(meta["torch"])
    }

    func testWriteThenReadIsIdentical() throws {
        var dict = StateDict()
        dict["b.half"] = StoredTensor(Tensor(shape: [3], data: [1, 2, 3]), as: .f16)
        dict["a.weight"] = StoredTensor(Tensor(shape: [2, 3], data: [1, -2, 3, 4, 5.5, 6]))
        dict["c.count"] = StoredTensor(Tensor(shape: [], data: [7]), as: .i64)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rt-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensors.write(dict, metadata: ["format": "pt"], to: url)
        let (back, meta) = try SafeTensors.read(url)
        XCTAssertEqual(meta, ["format": "pt"])
        XCTAssertEqual(Set(back.names), Set(dict.names))
        for (name, t) in dict.entries { XCTAssertEqual(back[name], t, name) }
        let bytes = try Data(contentsOf: url)
        let headerLength = bytes.withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self)) }
        XCTAssertEqual((8 + headerLength) % 64, 0, "data section starts on a 64-byte boundary")
    }

    func testRefusesBrokenHeaders() {
        func header(_ json: String, dataBytes: Int) -> Data {
            var d = Data(); let h = Array(json.utf8)
            withUnsafeBytes(of: UInt64(h.count).littleEndian) { d.append(contentsOf: $0) }
            d.append(contentsOf: h); d.append(Data(count: dataBytes)); return d
        }
        let cases: [(Data, String)] = [
            (Data([1, 2, 3]), "shorter"),
            (header("{}", dataBytes: 0).prefix(9) + Data([0xff]), "header"),
            ({ var d = header("{}", dataBytes: 0); d.replaceSubrange(0..<8, with: [200, 0, 0, 0, 0, 0, 0, 0]); return d }(), "longer than the file"),
            (header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, dataBytes: 12), "overlaps"),
            (header(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, dataBytes: 8), "needs 12 bytes"),
            (header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, dataBytes: 4), "run past the data section of 4 bytes"),
            (header(#"{"a":{"dtype":"X9","shape":[2],"data_offsets":[0,8]}}"#, dataBytes: 8), "unsupported dtype"),
            (header(#"{"a":{"dtype":"F64","shape":[549755813887,16777216],"data_offsets":[0,8]}}"#, dataBytes: 8), "too large"),
        ]
        for (data, expected) in cases {
            XCTAssertThrowsError(try SafeTensors.parse(data, file: "bad.safetensors")) { e in
                XCTAssertTrue("\(e)".contains("bad.safetensors") && "\(e)".contains(expected), "'\(e)' should mention '\(expected)'")
            }
        }
    }

    /// A file cut short names the first tensor it cuts, in data order: the same tensor on every run (the header's
    /// JSON object has no order of its own).
    func testTruncatedFileNamesTheFirstTensorItCuts() throws {
        var dict = StateDict()
        for name in ["w0", "w1", "w2", "w3", "w4", "w5"] { dict[name] = StoredTensor(Tensor(shape: [4], data: [1, 2, 3, 4])) }
        let full = try SafeTensors.serialize(dict)
        let cut = full.prefix(full.count - 16 * 3 - 8)   // w2 loses half its bytes, w3 to w5 all of theirs
        XCTAssertThrowsError(try SafeTensors.parse(Data(cut), file: "cut.safetensors")) { e in
            XCTAssertTrue("\(e)".hasPrefix("cut.safetensors: tensor 'w2': data_offsets [32, 48] run past the data section of 40 bytes"), "\(e)")
            XCTAssertTrue("\(e)".contains("56 bytes missing"), "\(e)")
        }
    }

    func testFailedWriteLeavesNothing() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        struct Boom: Error {}
        XCTAssertThrowsError(try AtomicFile.write(to: dir.appendingPathComponent("out.bin")) { h in
            try h.write(contentsOf: Data([1, 2, 3])); throw Boom()
        })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "no half file, no temporary left")
    }
}
