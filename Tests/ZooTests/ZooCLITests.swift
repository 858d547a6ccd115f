import Foundation
import SAM
import TestSupport
import XCTest
import Zoo

/// `ssmsam zoo` end to end through the built binary: add, list, show, pack, install, verify, export, remove;
/// exit codes and messages.
final class ZooCLITests: XCTestCase {
    private var work: URL!
    private var registry: URL!

    override func setUpWithError() throws {
        work = try ZooFixtures.temporaryDirectory(self, "zoo-cli")
        registry = work.appendingPathComponent("registry")
    }

    private func run(_ args: [String]) throws -> (code: Int32, out: String, err: String) {
        try SSMSAMProcess.run(args, near: Bundle(for: Self.self), environment: ["SSMSAM_ZOO": registry.path])
    }

    /// A known checkpoint (no package built, `checkpoint.json`): recognised by sha256 from the catalogue, any
    /// other file refused with both hashes; the repository's SAM ViT-B entry names the official file's hash.
    func testAKnownCheckpointIsRecognisedByItsHash() throws {
        let catalogue = work.appendingPathComponent("catalogue")
        let entry = catalogue.appendingPathComponent("test/known-small/1.0.0")
        try FileManager.default.createDirectory(at: entry, withIntermediateDirectories: true)
        let sha = try FileDigest.sha256(of: ZooFixtures.samSmall).hex
        try Data("""
            {"id": "test/known-small", "version": "1.0.0", "license": "apache-2.0", "preset": "vit_b",
             "source": {"file": "sam_small.safetensors", "sha256": "\(sha)"}}
            """.utf8).write(to: entry.appendingPathComponent(KnownCheckpoint.fileName))
        let config = ZooFixtures.repo.appendingPathComponent("scripts/zoo/sam_small.json").path
        let tuned = try ZooFixtures.tunedCheckpoint(in: work).path
        var r = try run(["zoo", "add", tuned, "--config", config, "--catalogue-entry", entry.path])
        XCTAssertEqual(r.code, 1, r.err)
        XCTAssert(r.err.contains("the catalogue entry test/known-small@1.0.0 is sam_small.safetensors with sha256 \(sha)"), r.err)
        r = try run(["zoo", "add", tuned, "--config", config, "--catalogue", catalogue.path])
        XCTAssertEqual(r.code, 1)
        XCTAssert(r.err.contains("is not a checkpoint of any entry"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: registry.path + "/index.json"))
        r = try run(["zoo", "add", ZooFixtures.samSmall.path, "--config", config, "--catalogue", catalogue.path])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssert(r.out.hasPrefix("recognised \(ZooFixtures.samSmall.path) as sam_small.safetensors (test/known-small@1.0.0) by its sha256\nadded test/known-small@1.0.0"), r.out)

        let vitB = try XCTUnwrap(try KnownCheckpoint.read(ZooFixtures.repo.appendingPathComponent("zoo/sam/vit_b/1.0.0")))
        XCTAssertEqual(vitB.source.sha256, "ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912")
        XCTAssertEqual(vitB.source.file, "sam_vit_b_01ec64.pth")
        XCTAssertNotNil(SAMConfig.preset(vitB.preset))
    }

    func testAddFromACatalogueEntry() throws {
        let entry = ZooFixtures.repo.appendingPathComponent("zoo/test/sam-small-random/1.0.0").path
        let config = ZooFixtures.repo.appendingPathComponent("scripts/zoo/sam_small.json").path
        let tuned = try ZooFixtures.tunedCheckpoint(in: work).path
        var r = try run(["zoo", "add", tuned, "--config", config, "--catalogue-entry", entry])
        XCTAssertEqual(r.code, 1)
        XCTAssert(r.err.hasPrefix("error: \(tuned): does not reproduce the catalogue entry \(entry):\n  weights.safetensors: sha256 "), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: registry.path + "/index.json"))
        r = try run(["zoo", "add", ZooFixtures.samSmall.path, "--config", config, "--catalogue-entry", entry])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssert(r.out.hasPrefix("matches the catalogue entry \(entry): weights sha256 and golden outputs\nadded test/sam-small-random@1.0.0"), r.out)
        XCTAssertEqual(try Registry(root: registry).list().first?.license, "apache-2.0")
    }

    func testCommands() throws {
        let config = ZooFixtures.repo.appendingPathComponent("scripts/zoo/sam_small.json").path
        var r = try run(["zoo", "list"])
        XCTAssertEqual(r.out, "no packages installed in \(registry.path)\n")

        r = try run(["zoo", "add", ZooFixtures.samSmall.path, "--id", "test/sam-small-random", "--version", "1.0.0",
                     "--config", config, "--license", "apache-2.0"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssert(r.out.hasPrefix("added test/sam-small-random@1.0.0 (base, 202 tensors)"), r.out)

        r = try run(["zoo", "list"])
        XCTAssertEqual(r.out.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") },
                       ["ENTRY KIND BASE ORGAN LICENSE SIGNATURE NUMBERS", "test/sam-small-random@1.0.0 base - - apache-2.0 unsigned verified"])
        r = try run(["zoo", "show", "test/sam-small-random"])
        XCTAssert(r.out.hasPrefix("# test/sam-small-random 1.0.0\n"), r.out)
        r = try run(["zoo", "show", "test/sam-small-random", "--json"])
        XCTAssertEqual(r.code, 0, r.err)
        let shown = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], r.out)
        XCTAssertEqual(shown["reference"] as? String, "test/sam-small-random@1.0.0")
        XCTAssert((shown["card"] as? String)?.hasPrefix("# test/sam-small-random 1.0.0\n") == true, r.out)
        XCTAssertEqual((shown["manifest"] as? [String: Any])?["license"] as? String, "apache-2.0")
        let folder = try XCTUnwrap(shown["directory"] as? String)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder).appendingPathComponent("README.md")), Data((shown["card"] as! String).utf8))

        let tar = work.appendingPathComponent("p.tar").path
        XCTAssertEqual(try run(["zoo", "pack", "test/sam-small-random@1.0.0", "-o", tar]).code, 0)
        r = try run(["zoo", "verify", tar, "--numbers"])
        XCTAssertEqual(r.code, 0, r.out + r.err)
        XCTAssert(r.out.contains("ok    numbers: golden outputs reproduced"), r.out)

        // A damaged archive: exit 1, the file and the difference on stdout, one error line on stderr.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: tar))
        bytes[bytes.count - 2000] ^= 0xff  // inside weights.safetensors, the last file
        try bytes.write(to: URL(fileURLWithPath: tar))
        r = try run(["zoo", "verify", tar])
        XCTAssertEqual(r.code, 1)
        XCTAssert(r.out.contains("FAIL  weights.safetensors: sha256 "), r.out)
        XCTAssertEqual(r.err, "error: \(tar): verification failed: 1 issue\n")
        r = try run(["zoo", "install", tar, "--registry", work.appendingPathComponent("other").path])
        XCTAssertEqual(r.code, 1)
        XCTAssert(r.err.contains("not installed: verification failed:\n  weights.safetensors: sha256 "), r.err)

        let hf = work.appendingPathComponent("hf").path
        XCTAssertEqual(try run(["zoo", "export", "test/sam-small-random@1.0.0", "--hf", hf]).code, 0)
        XCTAssert(FileManager.default.fileExists(atPath: hf + "/model.safetensors"))

        r = try run(["zoo", "remove", "test/sam-small-random@1.0.0"])
        XCTAssertEqual(r.code, 0, r.err)
        r = try run(["zoo", "show", "test/sam-small-random@1.0.0"])
        XCTAssertEqual(r.code, 1)
        XCTAssertEqual(r.err, "error: \(registry.path): test/sam-small-random@1.0.0 is not installed\n")
        r = try run(["zoo", "verify", "nope@1"])
        XCTAssertEqual(r.code, 1)
        XCTAssert(r.err.contains("'1' is not a semantic version"), r.err)
    }
}
