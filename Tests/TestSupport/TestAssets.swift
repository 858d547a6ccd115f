import Foundation
import XCTest

/// Files the tests read but the repository does not hold (the real MobileSAM from `scripts/setup`, the CT in
/// `../shared/data`). Outside CI a missing asset skips the test with how to get it; in CI (`CI` set to
/// anything but `false` or `0`) it fails the test, so a CI run never passes by skipping.
public enum TestAssets {
    /// A missing asset under CI: the test fails with this message.
    public struct Missing: Error, CustomStringConvertible { public let description: String }

    /// Whether the tests run in CI (the `CI` environment variable, as CI services set it).
    public static var inCI: Bool {
        guard let v = ProcessInfo.processInfo.environment["CI"]?.lowercased(), !v.isEmpty else { return false }
        return v != "false" && v != "0"
    }

    /// Returns `url` when the file exists; otherwise throws `XCTSkip` (or, in CI, `Missing`) naming the asset
    /// and `howToGet` it.
    @discardableResult
    public static func require(_ url: URL, _ what: String, howToGet: String) throws -> URL {
        if FileManager.default.fileExists(atPath: url.path) { return url }
        try missing("\(what) not found at \(url.path); \(howToGet)")
        return url
    }

    /// Throws for an asset that is not there (not only a missing file: a /proc file without the field, say).
    public static func missing(_ message: String) throws {
        if inCI { throw Missing(description: "CI: required test asset missing: \(message)") }
        throw XCTSkip(message)
    }

    /// The models directory (`$SSMSAM_MODELS`, else `~/.cache/ssmsam/models`), where `scripts/setup` puts MobileSAM.
    public static var modelsDirectory: URL {
        if let d = ProcessInfo.processInfo.environment["SSMSAM_MODELS"], !d.isEmpty { return URL(fileURLWithPath: d) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/ssmsam/models")
    }
}
