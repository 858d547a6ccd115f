import Foundation
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
