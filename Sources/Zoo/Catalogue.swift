import Diagnostics
import Foundation

/// A catalogue of known entries: a folder tree (the repository's `zoo/`) whose package folders hold at
/// least `manifest.json` and `README.md`; small entries also carry their weights and golden files and can
/// be installed from there, large ones name where their checkpoint comes from.
public enum Catalogue {
    /// One entry of a catalogue.
    public struct Entry {
        public let directory: URL
        public let manifest: Manifest
        /// Listed files that are not in the catalogue (e.g. large weights).
        public let missing: [String]
        /// Whether every file the manifest lists is present (the entry can be installed as it is).
        public var complete: Bool { missing.isEmpty }
    }

    /// Every package folder under `directory`, sorted by id and version.
    public static func entries(in directory: URL) throws -> [Entry] {
        guard FileManager.default.fileExists(atPath: directory.path) else { throw ToolkitError(.missingFile, subject: directory.path, "no such folder") }
        var out: [Entry] = []
        for rel in Verifier.allFiles(in: directory) where rel == PackageLayout.manifest || rel.hasSuffix("/" + PackageLayout.manifest) {
            let dir = directory.appendingPathComponent(rel).deletingLastPathComponent()
            let m = try Manifest.read(dir.appendingPathComponent(PackageLayout.manifest))
            let missing = m.files.map(\.path).filter { !FileManager.default.fileExists(atPath: dir.appendingPathComponent($0).path) }
            out.append(Entry(directory: dir, manifest: m, missing: missing))
        }
        return out.sorted { ($0.manifest.id, $0.manifest.version) < ($1.manifest.id, $1.manifest.version) }
    }
}

extension Catalogue {
    /// Compares a package built from a checkpoint with the catalogue entry it claims to be: the same id and
    /// version, weights with the catalogued sha256 (the same tensors, byte for byte), and, when the entry
    /// carries golden outputs, the same numbers within the entry's tolerance. Returns every difference.
    public static func compare(built: ZooPackage, with entry: URL) throws -> [VerificationIssue] {
        let catalogued = try Manifest.read(entry.appendingPathComponent(PackageLayout.manifest))
        let m = built.manifest
        var issues: [VerificationIssue] = []
        if (m.id, m.version) != (catalogued.id, catalogued.version) {
            issues.append(.init(file: PackageLayout.manifest, "built \(m.reference), the catalogue entry is \(catalogued.reference)"))
        }
        let weights = try FileDigest.sha256(of: built.url(m.weights.path)).hex
        if let expected = catalogued.file(catalogued.weights.path)?.sha256, expected != weights {
            issues.append(.init(file: m.weights.path, "sha256 \(weights), the catalogue entry \(entry.path) says \(expected): not the catalogued checkpoint"))
        }
        let goldenFiles = [PackageLayout.goldenPrompts, PackageLayout.goldenOutputs, PackageLayout.goldenImage]
        if goldenFiles.allSatisfy({ FileManager.default.fileExists(atPath: entry.appendingPathComponent($0).path) }) {
            let reference = try ZooPackage(directory: entry, manifest: catalogued).golden()
            let mine = try built.golden()
            for (name, actual, expected) in [(GoldenPrompts.logitsName, mine.lowResLogits, reference.lowResLogits),
                                             (GoldenPrompts.iouName, mine.iou, reference.iou)] {
                if let why = GoldenRunner.mismatch(name, actual: actual.floatTensor, expected: expected.floatTensor,
                                                   tolerance: reference.prompts.tolerance) {
                    issues.append(.init(file: PackageLayout.goldenOutputs, why + " (against the catalogue entry's outputs)"))
                }
            }
        }
        return issues
    }
}
