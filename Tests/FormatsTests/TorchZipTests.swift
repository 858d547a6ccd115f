import Foundation
import XCTest
@testable import Formats

final class TorchZipTests: XCTestCase {
    func testReadsZipCheckpointWithAllDTypesAndViews() throws {
        let sd = try TorchZipReader.read(Fixtures.url("sam_zip.pth"))
        assertMatches(sd, try Fixtures.expected("sam_expected.json"))
        XCTAssertEqual(sd.names.first, "image_encoder.patch_embed.proj.weight")
    }

    func testBigEndianStoragesAreSwapped() throws {
        let sd = try TorchZipReader.read(Fixtures.url("sam_bigendian.pth"))
        assertMatches(sd, try Fixtures.expected("sam_expected.json"))
    }

    func testNestedCheckpointIsFoundAutomaticallyAndByKey() throws {
        let expected = try Fixtures.expected("sam_expected.json")
        assertMatches(try TorchZipReader.read(Fixtures.url("sam_nested.pth")), expected)
        assertMatches(try TorchZipReader.read(Fixtures.url("sam_nested.pth"), key: "model"), expected)
        XCTAssertThrowsError(try TorchZipReader.read(Fixtures.url("sam_nested.pth"), key: "modle")) { e in
            XCTAssertTrue("\(e)".contains("no 'modle'"), "\(e)")
        }
    }

    func testSeveralCandidatesAreListed() throws {
        XCTAssertThrowsError(try TorchZipReader.read(Fixtures.url("two_candidates.pth"))) { e in
            XCTAssertTrue("\(e)".contains("model") && "\(e)".contains("ema.model"), "\(e)")
        }
        XCTAssertEqual(try TorchZipReader.read(Fixtures.url("two_candidates.pth"), key: "ema.model").count, 2)
    }
}
