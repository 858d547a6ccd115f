import Foundation
import XCTest
import TestSupport
import Formats
import Zoo

/// Versions, ids, references and the manifest schema's free-form parts.
final class ManifestTests: XCTestCase {
    func testSemanticVersions() {
        XCTAssertEqual(SemanticVersion("1.2.3")?.description, "1.2.3")
        XCTAssertEqual(SemanticVersion("1.0.0-rc.1+build.5")?.prerelease, ["rc", "1"])
        for bad in ["1.0", "01.0.0", "1.0.0-", "v1.0.0", "1.0.0+", "", "1..0"] { XCTAssertNil(SemanticVersion(bad), bad) }
        let ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0", "1.0.1", "1.10.0", "2.0.0"]
        XCTAssertEqual(ordered.compactMap(SemanticVersion.init).sorted().map(\.description), ordered)
    }

    func testReferences() throws {
        let r = try ModelReference(parsing: "ssm-sam/vit_b/liver@1.0.0")
        XCTAssertEqual(r.id, "ssm-sam/vit_b/liver")
        XCTAssertEqual(r.version, SemanticVersion("1.0.0"))
        XCTAssertNil(try ModelReference(parsing: "sam/mobile_sam").version)
        for bad in ["", "a//b", "../x", "A/b", "a b", "a@1.0", "a--b/c", "/abs"] {
            XCTAssertThrowsError(try ModelReference(parsing: bad), bad)
        }
        XCTAssertEqual(Registry.relativePath(id: "ssm-sam/vit_b/liver", version: "1.0.0"), "packages/ssm-sam--vit_b--liver/1.0.0")
    }

    func testPackagePaths() {
        for ok in ["weights.safetensors", "golden/input.png"] { XCTAssertNil(PackageLayout.pathProblem(ok), ok) }
        for bad in ["", "/etc/passwd", "../x", "a/../b", "a//b", "./a", "a\\b", "a\nb"] { XCTAssertNotNil(PackageLayout.pathProblem(bad), bad) }
    }

    func testFreeFormSectionsAreCheckedWhereKnown() throws {
        let work = try ZooFixtures.temporaryDirectory(self)
        var m = try ZooPackage.read(try ZooFixtures.buildBase(in: work)).manifest
        XCTAssertEqual(ManifestSchema.problems(m), [])
        m.metrics = .object(["dice": .object(["liver": .number(0.8), "spleen": .number(1.2)]), "wall_seconds": .number(12), "note": .string("ok")])
        m.protocolSettings = .object(["shots": .number(0), "steps": .number(3.5), "setting": .number(1), "custom": .string("kept")])
        XCTAssertEqual(ManifestSchema.problems(m).sorted(), [
            "metrics.dice.spleen is 1.2, expected a number in [0, 1]",
            "protocol.shots is 0, expected an integer >= 1",
            "protocol.steps is 3.5, expected an integer >= 0",
        ])
        m.metrics = .array([])
        XCTAssert(ManifestSchema.problems(m).contains("metrics must be a JSON object, found []"))
    }

    func testHostileArchitectureIsRefusedBeforeAnyModelIsBuilt() throws {
        let work = try ZooFixtures.temporaryDirectory(self)
        let pkg = try ZooFixtures.buildBase(in: work)
        var m = try ZooPackage.read(pkg).manifest
        m.architecture.decoder.heads = 0
        m.architecture.encoder.imageSize = 1 << 20
        XCTAssertEqual(ManifestSchema.problems(m), ["architecture.encoder.imageSize is 1048576, expected 16...4096",
                                                    "architecture.decoder.heads is 0, expected 1...128"])
        m = try ZooPackage.read(pkg).manifest
        m.architecture.encoder.globalAttentionBlocks = [1, 9]
        XCTAssertEqual(ManifestSchema.problems(m), ["architecture.encoder.globalAttentionBlocks names block 9, the encoder has 4"])
        // Through the verifier: a schema failure, and the numbers are not run.
        try AtomicFile.write(try m.encoded(), to: pkg.appendingPathComponent(PackageLayout.manifest))
        let report = Verifier.verify(pkg, numbers: true, base: { _ in nil }, baseLocation: "-")
        XCTAssertEqual(report.issues.map(\.description), [
            "manifest.json: architecture.encoder.globalAttentionBlocks names block 9, the encoder has 4",
            "golden/outputs.safetensors: numbers not checked: the package failed the checks above"])
    }

    func testGoldenPromptsStayInsideTheImage() {
        XCTAssertEqual(GoldenPrompts(points: [.init(x: 3, y: 4, label: 1)], box: [1, 2, 95.5, 50], multimask: false)
            .problems(imageWidth: 96, imageHeight: 96), [])
        XCTAssertEqual(GoldenPrompts(points: [], box: [1, 2, 96, 50], multimask: false).problems(imageWidth: 96, imageHeight: 96),
                       ["box [1.0, 2.0, 96.0, 50.0] has a corner outside the 96 x 96 image"])
        XCTAssertEqual(GoldenPrompts(points: [.init(x: 3, y: -1, label: 2)], multimask: true).problems(imageWidth: 96, imageHeight: 96),
                       ["points[0] (3.0, -1.0) is outside the 96 x 96 image", "points[0].label is 2, expected 0 or 1"])
    }

    func testManifestRoundTripsThroughJSON() throws {
        let work = try ZooFixtures.temporaryDirectory(self)
        let url = try ZooFixtures.buildBase(in: work).appendingPathComponent(PackageLayout.manifest)
        let data = try Data(contentsOf: url)
        let m = try Manifest.decode(data, file: url.path)
        XCTAssertEqual(try m.encoded(), data)  // canonical: equal manifests are equal bytes
        assertThrows(["x.json: not a valid manifest: not JSON"]) { _ = try Manifest.decode(Data("{".utf8), file: "x.json") }
        assertThrows(["field 'files.[0].size' is not of type Int"]) {
            var json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            var files = json["files"] as! [[String: Any]]
            files[0]["size"] = "big"
            json["files"] = files
            _ = try Manifest.decode(try JSONSerialization.data(withJSONObject: json), file: "m.json")
        }
    }
}
