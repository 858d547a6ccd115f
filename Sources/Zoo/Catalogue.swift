import Foundation

/// A catalogue of known entries: a folder tree (the repository's `zoo/`) whose package folders hold at
/// least `manifest.json` and `README.md`; small entries also carry their weights and golden files and can
/// be installed from there, large ones name where their checkpoint comes from.
public enum Catalogue {
    /// One entry of a catalogue.
    public struct Entry {
        public let directory: URL
        public let manifest: Manifest
        /// Whether every file the manifest lists is present (the entry can be installed as it is).
        public let complete: Bool
    }

    /// Every package folder under `directory`, sorted by id and version.
    public static func entries(in directory: URL) throws -> [Entry] {
        guard FileManager.default.fileExists(atPath: directory.path) else { throw ZooError(file: directory.path, "no such folder") }
        var out: [Entry] = []
        for rel in Verifier.allFiles(in: directory) where rel == PackageLayout.manifest || rel.hasSuffix("/" + PackageLayout.manifest) {
            let dir = directory.appendingPathComponent(rel).deletingLastPathComponent()
            let m = try Manifest.read(dir.appendingPathComponent(PackageLayout.manifest))
            let complete = m.files.allSatisfy { FileManager.default.fileExists(atPath: dir.appendingPathComponent($0.path).path) }
            out.append(Entry(directory: dir, manifest: m, complete: complete))
        }
        return out.sorted { ($0.manifest.id, $0.manifest.version) < ($1.manifest.id, $1.manifest.version) }
    }
}
