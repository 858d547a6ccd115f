import Crypto
import Diagnostics
import FileIO
import Foundation

/// An Ed25519 key pair of a publisher (swift-crypto's Curve25519 signing). The private key file is JSON
/// `{"algorithm": "ed25519", "name", "private_key": base64}` (mode 0600); the public one, `KEY.pub`, has
/// `public_key` instead. A key's id is the first 16 hex digits of the SHA-256 of its raw public key.
public struct SigningKey {
    public let name: String
    public let privateKey: Curve25519.Signing.PrivateKey
    public var publicKey: TrustedKey { TrustedKey(name: name, publicKey: privateKey.publicKey.rawRepresentation) }

    public init(name: String) { (self.name, privateKey) = (name, Curve25519.Signing.PrivateKey()) }

    struct File: Codable { var algorithm: String, name: String, private_key: String }

    /// Writes the private key (owner-only) to `url` and the public key to `url.pub`; refuses to overwrite.
    public func write(to url: URL) throws {
        let pub = URL(fileURLWithPath: url.path + ".pub")
        for u in [url, pub] where FileManager.default.fileExists(atPath: u.path) {
            throw ToolkitError(.invalidArgument, subject: u.path, "exists; a key is never overwritten")
        }
        let data = try PackageBuilder.prettyJSON(File(algorithm: "ed25519", name: name, private_key: privateKey.rawRepresentation.base64EncodedString()))
        // Owner-only from the first byte: the temporary is created 0600, then renamed into place.
        try AtomicFile.replace(url) { tmp in
            guard FileManager.default.createFile(atPath: tmp.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw ToolkitError(.writeFailed, subject: url.path, "cannot write the private key")
            }
        }
        try publicKey.write(to: pub)
    }

    public static func read(_ url: URL) throws -> SigningKey {
        guard let data = try? Data(contentsOf: url) else { throw ToolkitError(.missingFile, subject: url.path, "cannot read the signing key") }
        guard let f = try? JSONDecoder().decode(File.self, from: data), f.algorithm == "ed25519",
              let raw = Data(base64Encoded: f.private_key), let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw) else {
            throw ToolkitError(.invalidFile, subject: url.path, "not an ed25519 private key written by 'ssmsam zoo keygen'")
        }
        return SigningKey(name: f.name, key: key)
    }

    private init(name: String, key: Curve25519.Signing.PrivateKey) { (self.name, privateKey) = (name, key) }
}

/// A public key the registry trusts (`config.json`'s `trusted_keys`), or the one a signature names.
public struct TrustedKey: Codable, Equatable, Sendable {
    public var name: String
    /// The raw 32-byte Ed25519 public key.
    public var publicKey: Data

    public init(name: String, publicKey: Data) { (self.name, self.publicKey) = (name, publicKey) }

    public var id: String { FileDigest.sha256(publicKey).prefix(16).description }

    enum CodingKeys: String, CodingKey { case name, publicKey = "public_key" }
    struct File: Codable { var algorithm: String, name: String, public_key: String }

    func write(to url: URL) throws {
        try AtomicFile.write(try PackageBuilder.prettyJSON(File(algorithm: "ed25519", name: name, public_key: publicKey.base64EncodedString())), to: url)
    }

    /// Reads a `KEY.pub` written by `zoo keygen`.
    public static func read(_ url: URL) throws -> TrustedKey {
        guard let data = try? Data(contentsOf: url) else { throw ToolkitError(.missingFile, subject: url.path, "cannot read the public key") }
        guard let f = try? JSONDecoder().decode(File.self, from: data), f.algorithm == "ed25519",
              let raw = Data(base64Encoded: f.public_key), raw.count == 32 else {
            throw ToolkitError(.invalidFile, subject: url.path, "not an ed25519 public key written by 'ssmsam zoo keygen' (KEY.pub)")
        }
        return TrustedKey(name: f.name, publicKey: raw)
    }
}

/// `signature.json` of a package: an Ed25519 signature of the exact bytes of `manifest.json`. The manifest
/// lists every other file with its SHA-256, so the signature covers the whole package.
public struct ManifestSignature: Codable, Equatable {
    public var algorithm = "ed25519"
    public var signer: String
    public var keyID: String
    public var publicKey: Data
    public var signature: Data

    enum CodingKeys: String, CodingKey { case algorithm, signer, signature; case keyID = "key_id", publicKey = "public_key" }

    /// What a package's signature says, against a set of trusted keys.
    public enum Status: Equatable, Sendable, CustomStringConvertible {
        case unsigned
        case signedTrusted(signer: String, keyID: String)
        case signedUnknown(signer: String, keyID: String)
        /// A signature that does not verify (or cannot be read): always refused.
        case invalid(String)

        public var description: String {
            switch self {
            case .unsigned: return "unsigned"
            case .signedTrusted(let s, let k): return "signed and trusted (\(s), key \(k))"
            case .signedUnknown(let s, let k): return "signed by an unknown key (\(s), key \(k)); not in the registry's trusted keys"
            case .invalid(let why): return "bad signature: \(why)"
            }
        }
        /// The short form the registry's index records.
        public var short: String {
            switch self {
            case .unsigned: return "unsigned"
            case .signedTrusted(let s, _): return "trusted:\(s)"
            case .signedUnknown(_, let k): return "unknown:\(k)"
            case .invalid: return "invalid"
            }
        }
    }

    /// Signs the package in `directory` (its manifest as it is): writes `signature.json`, replacing one.
    public static func sign(package directory: URL, key: SigningKey) throws {
        let manifest = directory.appendingPathComponent(PackageLayout.manifest)
        guard let bytes = try? Data(contentsOf: manifest) else { throw ToolkitError(.missingFile, subject: manifest.path, "no manifest to sign") }
        let pub = key.publicKey
        let s = ManifestSignature(signer: key.name, keyID: pub.id, publicKey: pub.publicKey, signature: try key.privateKey.signature(for: bytes))
        try AtomicFile.write(try PackageBuilder.prettyJSON(s), to: directory.appendingPathComponent(PackageLayout.signature))
    }

    /// The signature status of the package in `directory` against `trusted`.
    public static func status(of directory: URL, trusted: [TrustedKey]) -> Status {
        let url = directory.appendingPathComponent(PackageLayout.signature)
        guard FileManager.default.fileExists(atPath: url.path) else { return .unsigned }
        guard let data = try? Data(contentsOf: url), let s = try? JSONDecoder().decode(ManifestSignature.self, from: data) else {
            return .invalid("\(PackageLayout.signature) is not a signature file")
        }
        guard s.algorithm == "ed25519", let key = try? Curve25519.Signing.PublicKey(rawRepresentation: s.publicKey) else {
            return .invalid("\(PackageLayout.signature): algorithm '\(s.algorithm)' or its public key is not ed25519")
        }
        let pub = TrustedKey(name: s.signer, publicKey: s.publicKey)
        guard pub.id == s.keyID else { return .invalid("key_id \(s.keyID) is not the id of the public key it carries (\(pub.id))") }
        guard let manifest = try? Data(contentsOf: directory.appendingPathComponent(PackageLayout.manifest)),
              key.isValidSignature(s.signature, for: manifest) else {
            return .invalid("the signature by \(s.signer) (key \(s.keyID)) does not verify against manifest.json: the manifest was changed after signing")
        }
        if let t = trusted.first(where: { $0.publicKey == s.publicKey }) { return .signedTrusted(signer: t.name, keyID: s.keyID) }
        return .signedUnknown(signer: s.signer, keyID: s.keyID)
    }
}
