import Diagnostics
import Foundation

/// A catalogue entry for a checkpoint whose weights the repository does not hold and whose package has not
/// been built here (`checkpoint.json` instead of `manifest.json`): what it is, and the SHA-256 of the
/// published file, so that a user who brings the file gets it recognised and packaged under the entry's id.
public struct KnownCheckpoint: Codable, Equatable, Sendable {
    public static let fileName = "checkpoint.json"

    public struct Source: Codable, Equatable, Sendable {
        /// The published file name, e.g. `sam_vit_b_01ec64.pth`.
        public var file: String
        public var sha256: String
        public var size: Int?
        public var url: String?
    }

    public var id: String
    public var version: String
    public var license: String
    public var description: String?
    /// The architecture preset (`vit_b`, `vit_l`, `vit_h`).
    public var preset: String
    public var source: Source

    /// Reads `checkpoint.json` of the entry in `directory`, or nil when it has none.
    public static func read(_ directory: URL) throws -> KnownCheckpoint? {
        let url = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let k: KnownCheckpoint
        do { k = try JSONDecoder().decode(KnownCheckpoint.self, from: Data(contentsOf: url)) } catch let e as DecodingError {
            throw ToolkitError(.invalidFile, subject: url.path, "not a known-checkpoint entry: \(Manifest.describe(e))")
        } catch { throw ToolkitError(.missingFile, subject: url.path, "cannot read: \(error.localizedDescription)") }
        var p: [String] = []
        if let why = ModelReference.problem(id: k.id) { p.append("id '\(k.id)': \(why)") }
        if SemanticVersion(k.version) == nil { p.append("version '\(k.version)' is not a semantic version") }
        if !ManifestSchema.isSHA256(k.source.sha256) { p.append("source.sha256 '\(k.source.sha256)' is not 64 lowercase hex digits") }
        guard p.isEmpty else { throw ToolkitError(.invalidFile, subject: url.path, p.joined(separator: "; ")) }
        return k
    }

    /// Every known-checkpoint entry under `directory` (a catalogue), sorted by id and version.
    public static func all(in directory: URL) throws -> [(directory: URL, entry: KnownCheckpoint)] {
        try Verifier.allFiles(in: directory).filter { $0 == fileName || $0.hasSuffix("/" + fileName) }.compactMap { rel in
            let dir = directory.appendingPathComponent(rel).deletingLastPathComponent()
            return try read(dir).map { (dir, $0) }
        }.sorted { ($0.entry.id, $0.entry.version) < ($1.entry.id, $1.entry.version) }
    }

    /// Why a checkpoint with `sha256` is not this entry's file, or nil when it is.
    public func mismatch(sha256: String, file: String) -> String? {
        sha256 == source.sha256 ? nil
            : "\(file) has sha256 \(sha256); the catalogue entry \(id)@\(version) is \(source.file) with sha256 \(source.sha256)"
    }
}
