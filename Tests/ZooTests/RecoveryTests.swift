import Foundation
import XCTest
import Zoo

/// What a crashed install leaves behind is cleaned by the next change to the registry.
final class RecoveryTests: XCTestCase {
    func testLeftoversOfACrashedInstallAreCleaned() throws {
        let work = try ZooFixtures.temporaryDirectory(self)
        let pkg = try ZooFixtures.buildBase(in: work)
        let registry = Registry(root: work.appendingPathComponent("registry"))
        try registry.install(from: pkg)
        let before = try ZooFixtures.snapshot(registry.root)

        // Crash 1: died while unpacking (a staging folder stays). Crash 2: died after the rename, before
        // the index write (a package folder the index does not name).
        let junk = registry.root.appendingPathComponent(".staging/1234/package")
        try FileManager.default.createDirectory(at: junk, withIntermediateDirectories: true)
        try Data("partial".utf8).write(to: junk.appendingPathComponent("weights.safetensors"))
        let index = registry.root.appendingPathComponent("index.json")
        try Data("{\"format\": 1, \"entries\": []}".utf8).write(to: index)
        XCTAssertEqual(try registry.list(), [])

        guard case .installed = try registry.install(from: pkg) else { return XCTFail("not reinstalled") }
        var after = try ZooFixtures.snapshot(registry.root)
        XCTAssertNotNil(after.removeValue(forKey: "/index.json"))  // rewritten (new install time)
        var expected = before
        expected.removeValue(forKey: "/index.json")
        XCTAssertEqual(after, expected)
        XCTAssertEqual(try registry.list().map(\.reference), ["test/sam-small-random@1.0.0"])
    }
}
