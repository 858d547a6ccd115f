import Diagnostics
import FileIO
import Foundation

/// `config.json` of a registry: the publishers' keys it trusts, and whether it installs only packages signed
/// by one of them (`require_signature`; `--strict` asks for it on one command).
public struct RegistryConfig: Codable, Equatable {
    public var trustedKeys: [TrustedKey] = []
    public var requireSignature = false

    public init() {}

    enum CodingKeys: String, CodingKey { case trustedKeys = "trusted_keys", requireSignature = "require_signature" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        trustedKeys = try c.decodeIfPresent([TrustedKey].self, forKey: .trustedKeys) ?? []
        requireSignature = try c.decodeIfPresent(Bool.self, forKey: .requireSignature) ?? false
    }

    static func read(_ url: URL) throws -> RegistryConfig {
        guard FileManager.default.fileExists(atPath: url.path) else { return RegistryConfig() }
        do { return try JSONDecoder().decode(RegistryConfig.self, from: Data(contentsOf: url)) } catch let e as DecodingError {
            throw ToolkitError(.invalidFile, subject: url.path, "not a registry configuration: \(Manifest.describe(e))")
        } catch { throw ToolkitError(.missingFile, subject: url.path, "cannot read: \(error)") }
    }

    func write(to url: URL) throws { try AtomicFile.write(try PackageBuilder.prettyJSON(self), to: url) }
}
