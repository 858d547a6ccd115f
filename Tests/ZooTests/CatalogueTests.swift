import Foundation
import XCTest
import Formats
import TestSupport
import Zoo

/// The repository's zoo/ catalogue: every manifest passes the schema, every card is the one its manifest
/// generates, and complete entries verify with their numbers: the SSM-SAM entries (deltas on the real
/// MobileSAM) with their golden 1-shot adaptation, on the base rebuilt from `mobile_sam.pt`.
final class CatalogueTests: XCTestCase {
    func testCatalogueEntries() throws {
        let catalogue = ZooFixtures.repo.appendingPathComponent("zoo")
        let entries = try Catalogue.entries(in: catalogue)
        XCTAssert(entries.contains { $0.manifest.reference == "test/sam-small-random@1.0.0" && $0.complete })
        let organs = entries.filter { $0.manifest.family == .ssmSAM }.compactMap(\.manifest.organ).sorted()
        XCTAssertEqual(organs, ["left_kidney", "liver", "right_kidney", "spleen"], "the four leave-one-organ-out entries")
        var bases: Registry? = nil
        for e in entries {
            XCTAssertEqual(ManifestSchema.problems(e.manifest), [], e.manifest.reference)
            let card = try String(contentsOf: e.directory.appendingPathComponent(PackageLayout.card), encoding: .utf8)
            let expected = e.manifest.family == .ssmSAM ? SSMSAMCard.markdown(e.manifest.withoutFiles) : ModelCard.markdown(e.manifest.withoutFiles)
            XCTAssertEqual(card, expected, "\(e.manifest.reference): README.md is not the manifest's card")
            if e.complete {
                if e.manifest.kind == .delta && bases == nil { bases = try baseRegistry(catalogue) }
                let report = Verifier.verify(e.directory, numbers: true, base: { b in bases.flatMap { $0.base(b) } }, baseLocation: bases?.root.path ?? "-")
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

    /// A registry holding `sam/mobile_sam@1.0.0` rebuilt from the official checkpoint, checked against its
    /// catalogue entry (weights sha256 and golden outputs): the base of the SSM-SAM entries.
    func baseRegistry(_ catalogue: URL) throws -> Registry {
        let pt = try TestAssets.require(TestAssets.modelsDirectory.appendingPathComponent("mobile_sam.pt"), "the official mobile_sam.pt",
                                        howToGet: "run scripts/setup (it fetches and checks it)")
        let work = try ZooFixtures.temporaryDirectory(self, "catalogue-base")
        let entry = catalogue.appendingPathComponent("sam/mobile_sam/1.0.0")
        let m = try Manifest.read(entry.appendingPathComponent(PackageLayout.manifest))
        var r = PackageRequest(checkpoint: pt, id: m.id, version: m.version)
        (r.license, r.description, r.config) = (m.license, m.description, m.architecture)
        let built = work.appendingPathComponent("mobile_sam")
        try PackageBuilder.build(r, into: built, toolkitVersion: "test")
        XCTAssertEqual(try Catalogue.compare(built: try ZooPackage.read(built), with: entry), [])
        let registry = Registry(root: work.appendingPathComponent("registry"))
        try registry.install(from: built, numbers: false)
        return registry
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
