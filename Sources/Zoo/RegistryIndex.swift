import Diagnostics
import Foundation
import Formats

/// `index.json` of a registry: one entry per installed package. It is written atomically (temporary
/// file + rename) under the registry's exclusive lock.
public struct RegistryIndex: Codable, Equatable {
    /// An installed package.
    public struct Entry: Codable, Equatable, Sendable {
        public var id: String
        public var version: String
        public var kind: Manifest.Kind
        /// `id@version` of the base, for deltas.
        public var base: String?
        /// The package folder, relative to the registry.
        public var path: String
        /// SHA-256 of the installed manifest.json (tells two packages with the same id and version apart).
        public var manifestSHA256: String
        public var organ: String?
        public var license: String
        public var installed: String
        /// Whether the golden numbers were rerun before the install (false: skipped on request).
        public var numbersVerified: Bool?
        /// The signature status at install (`ManifestSignature.Status.short`).
        public var signature: String?
        public var reference: String { "\(id)@\(version)" }

        enum CodingKeys: String, CodingKey {
            case id, version, kind, base, path, manifestSHA256, organ, license, installed, signature
            case numbersVerified = "numbers_verified"
        }
    }

    public var format = 1
    public var entries: [Entry] = []

    public init() {}

    static func read(_ url: URL) throws -> RegistryIndex {
        guard FileManager.default.fileExists(atPath: url.path) else { return RegistryIndex() }
        do { return try JSONDecoder().decode(RegistryIndex.self, from: Data(contentsOf: url)) } catch let e as DecodingError {
            throw ToolkitError(.invalidFile, subject: url.path, "not a registry index: \(Manifest.describe(e))")
        } catch { throw ToolkitError(.missingFile, subject: url.path, "cannot read: \(error)") }
    }

    func write(to url: URL) throws {
        var sorted = self
        sorted.entries.sort { ($0.id, SemanticVersion($0.version) ?? SemanticVersion("0.0.0")!) < ($1.id, SemanticVersion($1.version) ?? SemanticVersion("0.0.0")!) }
        try AtomicFile.write(try PackageBuilder.prettyJSON(sorted), to: url)
    }
}
