import Foundation
import TestSupport
import XCTest

/// Runs the built `ssmsam` binary: exit codes, stderr messages, and no output file after a failure.
final class CLITests: XCTestCase {
    private var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("formats-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    private func run(_ args: [String]) throws -> (code: Int32, out: String, err: String) {
        try SSMSAMProcess.run(args, near: Bundle(for: Self.self))
    }

    func testInspectJSON() throws {
        let r = try run(["inspect", "--json", Fixtures.url("sam_nested.pth").path, "--key", "model"])
        XCTAssertEqual(r.code, 0, r.err)
        let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        XCTAssertEqual(json["format"] as? String, "pytorch-zip")
        let tensors = json["tensors"] as! [[String: Any]]
        XCTAssertEqual(tensors.count, 18)
        XCTAssertEqual(tensors[0]["name"] as? String, "image_encoder.patch_embed.proj.weight")
        XCTAssertEqual(tensors[0]["shape"] as? [Int], [8, 3, 4, 4])
    }

    func testConvertRoundTripAndDType() throws {
        let st = tmp.appendingPathComponent("w.safetensors"), pth = tmp.appendingPathComponent("w.pth")
        XCTAssertEqual(try run(["convert", Fixtures.url("sam_zip.pth").path, st.path]).code, 0)
        XCTAssertEqual(try run(["convert", st.path, pth.path, "--dtype", "f16"]).code, 0)
        let r = try run(["inspect", "--json", pth.path])
        let tensors = (try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any])["tensors"] as! [[String: Any]]
        let dtypes = Dictionary(uniqueKeysWithValues: tensors.map { ($0["name"] as! String, $0["dtype"] as! String) })
        XCTAssertEqual(dtypes["image_encoder.patch_embed.proj.weight"], "f16")
        XCTAssertEqual(dtypes["image_encoder.neck.1.num_batches_tracked"], "i64")
    }

    func testHostileInputsExitOneAndLeaveNothing() throws {
        let bad = ["bad_os_system.pth", "bad_builtins_eval.pth", "bad_missing_storage.pth", "bad_stride.pth",
                   "bad_truncated.pth", "bad_magic.pth", "bad_header_long.safetensors", "bad_overlap.safetensors",
                   "bad_external_dotdot.onnx", "bad_external_absolute.onnx", "bad_opcode.pth", "bad_numel.pth"]
        for name in bad {
            for ext in ["safetensors", "pth"] {
                let out = tmp.appendingPathComponent("out.\(ext)")
                let r = try run(["convert", Fixtures.url(name).path, out.path])
                XCTAssertEqual(r.code, 1, "\(name): \(r.err)")
                XCTAssertTrue(r.err.hasPrefix("error: ") && r.err.contains(name), "\(name): \(r.err)")
                XCTAssertFalse(r.err.contains("Fatal error"), r.err)
                XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.path), [], "\(name) left a file")
            }
            let r = try run(["inspect", Fixtures.url(name).path])
            XCTAssertEqual(r.code, 1, "\(name)")
            XCTAssertEqual(r.out, "")
        }
        let r = try run(["convert", Fixtures.url("sam_zip.pth").path, tmp.appendingPathComponent("x.bin").path])
        XCTAssertEqual(r.code, 1)
        XCTAssertTrue(r.err.contains("unknown output format"))
    }
}
