import Crypto
import Diagnostics
import Formats
import Foundation
import TensorCore

/// The cheap path's cache of frozen encoder features (`SSMSAMModel.frozenFeatures`): each image's features
/// are computed once per base model, kept in memory, and optionally on disk in `directory` as
/// `<key>.safetensors` (format in Formats/FORMATS.md, "SSM-SAM feature cache"). The key is the SHA-256 of
/// the base's identity and the preprocessed input's shape and bytes, so a changed image or base never hits.
public final class FeatureCache: @unchecked Sendable {
    /// Identifies the frozen base (e.g. a zoo id@version or its weights' sha256) and the feature kind.
    public let baseID: String
    public let directory: URL?
    private var memory: [String: [Tensor]] = [:]
    private let lock = NSLock()
    static let formatVersion = "1"

    public init(baseID: String, directory: URL? = nil) throws {
        self.baseID = baseID
        self.directory = directory
        if let directory {
            do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
                throw ToolkitError(.writeFailed, subject: directory.path, "cannot create the feature cache directory: \(error.localizedDescription)")
            }
        }
    }

    /// The cache key of an input.
    public func key(for input: Tensor) -> String {
        var h = SHA256()
        h.update(data: Data("ssmsam-features v\(Self.formatVersion)\n\(baseID)\n\(input.shape)\n".utf8))
        input.data.withUnsafeBytes { h.update(bufferPointer: $0) }
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The features of `input`: from memory, else from disk, else `compute()` (then stored in both).
    /// A disk entry that does not read back as this key's features is an error naming the file.
    public func features(for input: Tensor, compute: () -> [Tensor]) throws -> [Tensor] {
        let k = key(for: input)
        if let hit = lock.withLock({ memory[k] }) { return hit }
        if let file = directory?.appendingPathComponent("\(k).safetensors"), FileManager.default.fileExists(atPath: file.path) {
            let (dict, meta) = try SafeTensors.read(file)
            let n = meta["levels"].flatMap(Int.init) ?? 0
            let levels = (0..<n).compactMap { dict["level.\($0)"]?.floatTensor }
            guard meta["key"] == k, n > 0, levels.count == n, dict.count == n else {
                throw ToolkitError(.invalidFile, subject: file.path, "not a feature cache entry for key \(k) (delete it to recompute)")
            }
            lock.withLock { memory[k] = levels }
            return levels
        }
        let levels = compute()
        if let file = directory?.appendingPathComponent("\(k).safetensors") {
            var dict = StateDict()
            for (i, t) in levels.enumerated() { dict["level.\(i)"] = StoredTensor(t) }
            try SafeTensors.write(dict, metadata: ["key": k, "base": baseID, "levels": "\(levels.count)",
                                                   "format": "ssmsam-features", "version": Self.formatVersion], to: file)
        }
        lock.withLock { memory[k] = levels }
        return levels
    }
}
