import Diagnostics
import Foundation
import SAM
import SSMSAM

/// `manifest.json`: what a zoo package is, where it came from and every file it holds with its size and
/// SHA-256. See Formats/FORMATS.md, "Zoo packages".
public struct Manifest: Codable, Equatable {
    /// The schema of SAM packages (unchanged since the first release, so their manifests stay byte-identical).
    public static let currentSchema = "ssmsam-zoo/1"
    /// The schema of packages of the other families: `family` and the family's own fields.
    public static let familySchema = "ssmsam-zoo/2"
    /// The schemas this toolkit reads.
    public static let knownSchemas: Set<String> = [currentSchema, familySchema]

    /// A base model carries a whole state dict; a delta carries only the tensors it changes or adds.
    public enum Kind: String, Codable, Sendable { case base, delta }

    /// The base model a delta applies to, pinned by the SHA-256 of the base's weight file.
    public struct BaseReference: Codable, Equatable, Sendable {
        public var id: String
        public var version: String
        public var sha256: String
        public init(id: String, version: String, sha256: String) { (self.id, self.version, self.sha256) = (id, version, sha256) }
        public var reference: String { "\(id)@\(version)" }
    }

    /// The weight file and what it holds (for the model card).
    public struct Weights: Codable, Equatable, Sendable {
        public var path: String
        public var tensors: Int
        public var parameters: Int
        /// Deltas: tensors that replace same-named base tensors, and tensors the base does not have.
        public var replaces: Int?
        public var adds: Int?
        /// How the stored tensors become the model's (nil: as they are). `ResidualCodec.encoding`: the heads are
        /// their seeded initialisation plus 4-bit residuals (`initialisation` pins it).
        public var encoding: String?
        public var initialisation: Initialisation?
        public init(path: String, tensors: Int, parameters: Int, replaces: Int? = nil, adds: Int? = nil) {
            (self.path, self.tensors, self.parameters, self.replaces, self.adds) = (path, tensors, parameters, replaces, adds)
        }
    }

    /// The seeded initialisation residuals are stored against: `SSMSAMModel.initializeHeads(seed:)` on the
    /// base, pinned by the SHA-256 of the initial head tensors (`HeadInitialisation.digest`), so a machine that
    /// cannot regenerate it bit for bit says so instead of loading other weights.
    public struct Initialisation: Codable, Equatable, Sendable {
        public var seed: UInt64
        public var sha256: String
        public init(seed: UInt64, sha256: String) { (self.seed, self.sha256) = (seed, sha256) }
    }

    /// The checkpoint the package was built from.
    public struct Source: Codable, Equatable, Sendable {
        public var file: String
        public var format: String
        public var sha256: String
        public var size: Int
        public var key: String?
        /// Where the original can be obtained (for entries whose weights are not in the repository).
        public var url: String?
        public init(file: String, format: String, sha256: String, size: Int, key: String? = nil, url: String? = nil) {
            (self.file, self.format, self.sha256, self.size, self.key, self.url) = (file, format, sha256, size, key, url)
        }
    }

    /// The toolkit that built the package.
    public struct Toolkit: Codable, Equatable, Sendable {
        public var name: String
        public var version: String
        public init(name: String = "ssmsam", version: String) { (self.name, self.version) = (name, version) }
    }

    /// One file of the package, relative to its folder.
    public struct FileEntry: Codable, Equatable, Sendable {
        public var path: String
        public var size: Int
        public var sha256: String
        public init(path: String, size: Int, sha256: String) { (self.path, self.size, self.sha256) = (path, size, sha256) }
    }

    /// `ssmsam-zoo/1`.
    public var schema: String
    /// e.g. `ssm-sam/vit_b/liver` (`ModelReference.problem(id:)` gives the rule).
    public var id: String
    /// A semantic version.
    public var version: String
    public var kind: Kind
    /// The base a delta applies to (nil for a base model).
    public var base: BaseReference?
    /// Free text for the card.
    public var description: String?
    /// The SAM architecture (the same JSON as a model's config file); for SSM-SAM, its base's.
    public var architecture: SAMConfig
    /// The model family (absent in `ssmsam-zoo/1` manifests: SAM).
    public var familyName: ModelFamily?
    /// SSM-SAM: the heads' configuration (its `base` is `architecture`).
    public var ssmSAM: SSMSAMConfig?
    /// What the model segments, from what images, learnt on what (free text; nil when not stated).
    public var organ: String?
    public var modality: String?
    public var dataset: String?
    /// Few-shot protocol settings (free-form; known keys are checked, see `ManifestSchema`).
    public var protocolSettings: JSONValue?
    /// Evaluation results (free-form; known keys are checked).
    public var metrics: JSONValue?
    /// SPDX-like id (`other` when not stated).
    public var license: String
    public var toolkit: Toolkit
    /// ISO 8601 UTC time of creation.
    public var created: String
    public var source: Source?
    public var weights: Weights
    /// Every file of the package except `manifest.json`, sorted by path.
    public var files: [FileEntry]

    enum CodingKeys: String, CodingKey {
        case schema, id, version, kind, base, description, architecture, organ, modality, dataset
        case familyName = "family", ssmSAM = "ssm_sam"
        case protocolSettings = "protocol"
        case metrics, license, toolkit, created, source, weights, files
    }

    public init(id: String, version: String, kind: Kind, base: BaseReference? = nil, architecture: SAMConfig,
                license: String, toolkit: Toolkit, created: String, weights: Weights, files: [FileEntry] = []) {
        schema = Self.currentSchema
        (self.id, self.version, self.kind, self.base, self.architecture) = (id, version, kind, base, architecture)
        (self.license, self.toolkit, self.created, self.weights, self.files) = (license, toolkit, created, weights, files)
    }

    /// `id@version`.
    public var reference: String { "\(id)@\(version)" }

    /// The model family (SAM when the manifest names none).
    public var family: ModelFamily { familyName ?? .sam }

    /// The entry for `path`, if listed.
    public func file(_ path: String) -> FileEntry? { files.first { $0.path == path } }

    /// Canonical JSON: sorted keys, pretty-printed, so equal manifests are equal bytes.
    public func encoded() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try e.encode(self)
        data.append(UInt8(ascii: "\n"))
        return data
    }

    /// Decodes a manifest; errors name `file` and say which field is missing or of the wrong type.
    public static func decode(_ data: Data, file: String) throws -> Manifest {
        do { return try JSONDecoder().decode(Manifest.self, from: data) } catch let e as DecodingError {
            throw ToolkitError(.invalidFile, subject: file, "not a valid manifest: \(describe(e))")
        } catch {
            throw ToolkitError(.invalidFile, subject: file, "not a valid manifest: \(error)")
        }
    }

    /// Reads `manifest.json` from a file.
    public static func read(_ url: URL) throws -> Manifest {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ToolkitError(.missingFile, subject: url.path, "cannot read (missing or unreadable): \(error.localizedDescription)")
        }
        return try decode(data, file: url.path)
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            keys.isEmpty ? "the top level" : "'" + keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") + "'"
        }
        switch error {
        case .keyNotFound(let key, let ctx): return "missing field \(path(ctx.codingPath + [key]))"
        case .typeMismatch(let type, let ctx): return "field \(path(ctx.codingPath)) is not of type \(type)"
        case .valueNotFound(let type, let ctx): return "field \(path(ctx.codingPath)) is null, expected \(type)"
        case .dataCorrupted(let ctx):
            return ctx.codingPath.isEmpty ? "not JSON (\(ctx.debugDescription))" : "field \(path(ctx.codingPath)): \(ctx.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
