import Foundation
import XCTest
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
            }
        }
    }

    func testInstallFromTheCatalogue() throws {
        let work = try ZooFixtures.temporaryDirectory(self)
        let registry = Registry(root: work.appendingPathComponent("registry"))
        try registry.install(from: ZooFixtures.repo.appendingPathComponent("zoo/test/sam-small-random/1.0.0"), numbers: true)
        XCTAssertEqual(try registry.list().map(\.reference), ["test/sam-small-random@1.0.0"])
    }
}
