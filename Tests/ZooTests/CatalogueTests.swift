import Foundation
import XCTest
import Formats
import Zoo

/// The repository's zoo/ catalogue: every manifest passes the schema, every card is the one its manifest
/// generates, and complete entries verify with their numbers.
final class CatalogueTests: XCTestCase {
    func testCatalogueEntries() throws {
        let entries = try Catalogue.entries(in: ZooFixtures.repo.appendingPathComponent("zoo"))
        XCTAssert(entries.contains { $0.manifest.reference == "test/sam-small-random@1.0.0" && $0.complete })
        for e in entries {
            XCTAssertEqual(ManifestSchema.problems(e.manifest), [], e.manifest.reference)
            let card = try String(contentsOf: e.directory.appendingPathComponent(PackageLayout.card), encoding: .utf8)
            XCTAssertEqual(card, ModelCard.markdown(e.manifest.withoutFiles), "\(e.manifest.reference): README.md is not the manifest's card")
            if e.complete {
                let report = Verifier.verify(e.directory, numbers: true, base: { _ in nil }, baseLocation: "-")
                XCTAssert(report.ok, "\(e.manifest.reference):\n\(report.summary)")
            } else {
                // Entries without their weights: the files that are here are the listed ones.
                XCTAssertEqual(e.missing, [e.manifest.weights.path], e.manifest.reference)
                for f in e.manifest.files where f.path != e.manifest.weights.path {
                    let d = try FileDigest.sha256(of: e.directory.appendingPathComponent(f.path))
                    XCTAssertEqual(d.hex, f.sha256, "\(e.manifest.reference): \(f.path)")
                    XCTAssertEqual(d.size, f.size, "\(e.manifest.reference): \(f.path)")
                }
            }
        }
    }

    func testRebuildMustReproduceTheCatalogueEntry() throws {
        let work = try ZooFixtures.temporaryDirectory(self)
        let entry = ZooFixtures.repo.appendingPathComponent("zoo/test/sam-small-random/1.0.0")
        // The same checkpoint reproduces the entry.
        let same = try ZooPackage.read(try ZooFixtures.buildBase(in: work, name: "same"))
        XCTAssertEqual(try Catalogue.compare(built: same, with: entry), [])
        // Other weights under the same name do not: the weights hash and the numbers both say so.
        let other = try ZooPackage.read(try ZooFixtures.buildBase(in: work, name: "other", checkpoint: try ZooFixtures.tunedCheckpoint(in: work)))
        let issues = try Catalogue.compare(built: other, with: entry)
        XCTAssertEqual(issues.map(\.file), ["weights.safetensors", "golden/outputs.safetensors"], "\(issues)")
        XCTAssert(issues[0].message.hasSuffix("says \(try Manifest.read(entry.appendingPathComponent("manifest.json")).file("weights.safetensors")!.sha256): not the catalogued checkpoint"))
        XCTAssert(issues[1].message.hasPrefix("iou differs"), issues[1].message)
    }

    func testInstallFromTheCatalogue() throws {
        let work = try ZooFixtures.temporaryDirectory(self)
        let registry = Registry(root: work.appendingPathComponent("registry"))
        try registry.install(from: ZooFixtures.repo.appendingPathComponent("zoo/test/sam-small-random/1.0.0"), numbers: true)
        XCTAssertEqual(try registry.list().map(\.reference), ["test/sam-small-random@1.0.0"])
    }
}
