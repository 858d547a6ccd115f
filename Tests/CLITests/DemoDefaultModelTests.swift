import XCTest
@testable import ssmsam

/// `ssmsam demo` starts from the organ's zoo meta-initialisation when it is installed on the MobileSAM base,
/// and from fresh heads otherwise.
final class DemoDefaultModelTests: XCTestCase {
    let liverOnMobileSAM = (id: "ssmsam/mobile-liver", base: String?("sam/mobile_sam@1.0.0"))

    func testTheInstalledOrgansEntryIsChosen() {
        XCTAssertEqual(DemoCommand.defaultMetaInitialisation(organ: "liver", model: "mobile_sam", installed: [liverOnMobileSAM]),
                       "zoo:ssmsam/mobile-liver")
        XCTAssertEqual(DemoCommand.defaultMetaInitialisation(organ: "kidney_left", model: "mobile_sam",
                                                             installed: [liverOnMobileSAM, ("ssmsam/mobile-kidney_left", "sam/mobile_sam@1.0.0")]),
                       "zoo:ssmsam/mobile-kidney_left")
    }

    func testFreshHeadsWhenNothingFits() {
        // Nothing installed; another organ's entry; an entry on another base; another base model asked for.
        XCTAssertNil(DemoCommand.defaultMetaInitialisation(organ: "liver", model: "mobile_sam", installed: []))
        XCTAssertNil(DemoCommand.defaultMetaInitialisation(organ: "spleen", model: "mobile_sam", installed: [liverOnMobileSAM]))
        XCTAssertNil(DemoCommand.defaultMetaInitialisation(organ: "liver", model: "mobile_sam",
                                                           installed: [("ssmsam/mobile-liver", "sam/vit_b@1.0.0")]))
        XCTAssertNil(DemoCommand.defaultMetaInitialisation(organ: "liver", model: "vit_b", installed: [liverOnMobileSAM]))
    }

    func testAnEmptyRegistryFolderMeansFreshHeads() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("demo-registry-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        XCTAssertNil(DemoCommand.installedMetaInitialisation(organ: "liver", model: "mobile_sam", registry: .init(root: root)))
    }

    func testFreshHeadsAndAModelExcludeEachOther() throws {
        var demo = try DemoCommand.parse(["--ssm-model", "zoo:ssmsam/mobile-liver", "--fresh-heads"])
        XCTAssertThrowsError(try demo.run()) { error in
            XCTAssertTrue("\(error)".contains("--fresh-heads"), "\(error)")
        }
        demo = try DemoCommand.parse(["--fresh-heads"])
        XCTAssertTrue(demo.freshHeads)
    }
}
