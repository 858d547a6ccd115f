import FewShot
import Foundation
import SSMSAM
import TestSupport
import XCTest

/// `ssmsam eval --json`: stdout is exactly the record written to OUT/record.json, and the progress lines go to
/// stderr, so a script can read stdout as one JSON document.
final class EvalJSONCLITests: XCTestCase {
    func testJSONIsTheRecordAndProgressGoesToStderr() throws {
        let (ct, labels, dir) = try FewShotFixtures.sharedCTRun(self, "eval-json")
        let model = dir.appendingPathComponent("m.safetensors")
        try SSMSAMStore.save(try FewShotFixtures.tinyModel(), to: model)
        let base = try FewShotFixtures.writeTinyBase(in: dir)
        let out = dir.appendingPathComponent("run")
        let r = try SSMSAMProcess.run(["eval", "--model", model.path, "--base", base.path, "--volume", ct.path,
                                       "--labels", labels.path,
                                       "--organs", "spleen", "--chunks", "2", "--steps", "1", "--out", out.path, "--json"],
                                      near: Bundle(for: Self.self))
        XCTAssertEqual(r.code, 0, r.err)
        let printed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], r.out)
        let written = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("record.json"))) as? [String: Any])
        XCTAssertEqual(NSDictionary(dictionary: printed), NSDictionary(dictionary: written))
        let spleen = try XCTUnwrap((printed["organs"] as? [String: Any])?["spleen"] as? [String: Any])
        XCTAssertNotNil(spleen["dice"] as? Double, "\(spleen)")
        XCTAssertTrue(r.err.contains("spleen: chunk 1/2"), r.err)
        XCTAssertFalse(r.out.contains("chunk 1/2"), r.out)
    }
}
