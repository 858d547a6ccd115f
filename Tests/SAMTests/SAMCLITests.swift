import Formats
import Foundation
import TestSupport
import XCTest

/// `ssmsam encode` / `segment` as a user runs them: outputs on success, exit 1 and a clear message otherwise.
final class SAMCLITests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("sam-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        // The small fixture model in the native layout: weights + config JSON beside them.
        let weights = work.appendingPathComponent("small.safetensors")
        try FileManager.default.copyItem(at: SAMFixtures.directory.appendingPathComponent("sam_small.safetensors"), to: weights)
        let config = try SAMFixtures.model().config
        let encoder = JSONEncoder()
        try encoder.encode(config).write(to: work.appendingPathComponent("small.json"))
        // A small RGB image from the Imaging fixtures.
        let png = SAMFixtures.directory.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ImagingTests/Fixtures/rgb.png")
        try FileManager.default.copyItem(at: png, to: work.appendingPathComponent("image.png"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    private func run(_ args: [String]) throws -> (code: Int32, out: String, err: String) {
        try SSMSAMProcess.run(args, near: Bundle(for: Self.self))
    }

    private var model: String { work.appendingPathComponent("small.safetensors").path }
    private var image: String { work.appendingPathComponent("image.png").path }

    func testSegmentWritesMaskLogitsAndOverlay() throws {
        let mask = work.appendingPathComponent("mask.png").path, logits = work.appendingPathComponent("low.npy").path
        let overlay = work.appendingPathComponent("overlay.png").path
        let r = try run(["segment", "--model", model, "--image", image, "--point", "3,2", "--point", "1,1,0",
                         "--out", mask, "--logits", logits, "--overlay", overlay])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("mask 0: predicted IoU"), r.out)
        for f in [mask, logits, overlay] { XCTAssertTrue(FileManager.default.fileExists(atPath: f), f) }
        let e = try run(["encode", "--model", model, "--image", image, "--out", work.appendingPathComponent("e.npy").path])
        XCTAssertEqual(e.code, 0, e.err)
        XCTAssertTrue(e.out.contains("embedding [1, 32, 8, 8]"), e.out)
    }

    /// `segment --json`: one JSON document on stdout with the predicted IoUs and the files written, nothing else.
    func testSegmentJSON() throws {
        let mask = work.appendingPathComponent("mask.png").path, logits = work.appendingPathComponent("low.npy").path
        let r = try run(["segment", "--model", model, "--image", image, "--point", "3,2", "--multimask", "--out", mask, "--logits", logits, "--json"])
        XCTAssertEqual(r.code, 0, r.err)
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], r.out)
        let masks = try XCTUnwrap(o["masks"] as? [[String: Any]])
        XCTAssertEqual(masks.count, 3)
        let ious = masks.compactMap { $0["predicted_iou"] as? Double }
        XCTAssertEqual(ious.count, 3)
        XCTAssertEqual(o["best"] as? Int, ious.firstIndex(of: ious.max()!))
        XCTAssertEqual(o["written"] as? [String: String], ["mask": mask, "logits": logits])
        XCTAssertEqual(o["low_res_logits_shape"] as? [Int], try Numpy.read(URL(fileURLWithPath: logits)).shape)
        XCTAssertEqual(o["precision"] as? String, "fp32")
        let pixels = try XCTUnwrap(o["mask_pixels"] as? Int)
        XCTAssertTrue((0...((o["width"] as? Int ?? 0) * (o["height"] as? Int ?? 0))).contains(pixels))
    }

    func testBadInputFailsCleanly() throws {
        let out = work.appendingPathComponent("never.png").path
        let cases: [([String], String)] = [
            (["--point", "3,2,nan"], "label must be 1, 0 or -1"),
            (["--point", "-10,20"], "point (-10.0, 20.0) is outside the"),
            (["--box", "10,8,3,2"], "is inverted: expected X0 <= X1 and Y0 <= Y1"),
            (["--point", "3,2", "--logits", "/no/such/folder/l.npy"], "--logits /no/such/folder/l.npy: the folder /no/such/folder does not exist"),
            (["--point", "3,nan"], "finite numbers"),
            (["--point", "300,2"], "outside the"),
            (["--box", "1,2,3"], "expected X0,Y0,X1,Y1"),
            ([], "at least one --point or a --box"),
        ]
        for (extra, message) in cases {
            let r = try run(["segment", "--model", model, "--image", image, "--out", out] + extra)
            XCTAssertNotEqual(r.code, 0, "\(extra)")
            XCTAssertTrue(r.err.contains(message), "\(extra): \(r.err)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(extra): a failed run left \(out)")
        }
        var r = try run(["segment", "--model", model, "--image", work.appendingPathComponent("missing.png").path, "--point", "1,1", "--out", out])
        XCTAssertEqual(r.code, 1); XCTAssertTrue(r.err.contains("missing.png"), r.err)
        r = try run(["segment", "--model", image, "--image", image, "--point", "1,1", "--out", out])
        XCTAssertEqual(r.code, 1); XCTAssertTrue(r.err.hasPrefix("error: "), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no output after a failure")
    }
}
