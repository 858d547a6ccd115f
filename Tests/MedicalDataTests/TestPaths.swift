import Foundation
import TestSupport
import XCTest

/// Locations the tests read: committed fixtures and the team's shared data beside the repository.
enum TestPaths {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let fixtures = here.appendingPathComponent("Fixtures")
    /// The package root (two levels above this file's folder).
    static let root = here.deletingLastPathComponent().deletingLastPathComponent()
    /// `../shared/data/abdomen-ct` relative to the repository root, as CI lays it out.
    static let abdomen = root.appendingPathComponent("../shared/data/abdomen-ct").standardizedFileURL
    static let ct = abdomen.appendingPathComponent("ct.nii.gz")
    static let labels = abdomen.appendingPathComponent("labels.nii.gz")

    static func fixture(_ name: String) -> URL { fixtures.appendingPathComponent(name) }

    /// The shared CT (and its labels), or a skip outside CI / a failure in CI naming where it should be.
    static func requireCT() throws {
        for url in [ct, labels] {
            try TestAssets.require(url, "the shared abdominal CT", howToGet: "put the team's shared folder beside the repository (../shared/data/abdomen-ct)")
        }
    }

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: fixture(name))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A fresh temporary folder, removed at process exit is not guaranteed: tests remove it themselves.
    static func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mdtests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}
