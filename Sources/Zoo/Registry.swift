import Diagnostics
import Foundation
import SAM

/// A local registry of installed packages: a folder (default `~/.cache/ssmsam/zoo`, `SSMSAM_ZOO`
/// overrides) holding `index.json`, a lock file, and `packages/ID/VERSION/` folders (an id's `/` becomes `--`).
///
/// Changes take the exclusive lock; reads take a shared one. An install unpacks into `.staging/` inside
/// the registry (same file system), verifies there, renames into place and then rewrites the index; any
/// failure removes what it made, so the registry is left as it was.
public final class Registry {
    public let root: URL
    private let lock: RegistryLock

    /// The default folder: `$SSMSAM_ZOO`, else `~/.cache/ssmsam/zoo`.
    public static var defaultRoot: URL {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["SSMSAM_ZOO"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return URL(fileURLWithPath: env["HOME"] ?? NSHomeDirectory()).appendingPathComponent(".cache/ssmsam/zoo")
    }

    public init(root: URL = Registry.defaultRoot) {
        self.root = root.standardizedFileURL
        lock = RegistryLock(url: self.root.appendingPathComponent(".lock"))
    }

    var indexURL: URL { root.appendingPathComponent("index.json") }
    var configURL: URL { root.appendingPathComponent("config.json") }

    /// The registry's configuration (trusted keys, signature policy); the default when it has none.
    public func config() throws -> RegistryConfig { try RegistryConfig.read(configURL) }

    /// Adds `key` to the trusted keys (replacing one of the same name); `requireSignature` sets the policy when given.
    public func trust(_ key: TrustedKey?, requireSignature: Bool? = nil) throws -> RegistryConfig {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        return try locked(exclusive: true) {
            var c = try RegistryConfig.read(configURL)
            if let key {
                c.trustedKeys.removeAll { $0.name == key.name || $0.publicKey == key.publicKey }
                c.trustedKeys.append(key)
            }
            if let requireSignature { c.requireSignature = requireSignature }
            try c.write(to: configURL)
            return c
        }
    }
    var stagingURL: URL { root.appendingPathComponent(".staging") }

    /// Folder of an installed package, relative to the registry.
    public static func relativePath(id: String, version: String) -> String {
        "packages/" + id.replacingOccurrences(of: "/", with: "--") + "/" + version
    }

    /// Installed packages, sorted by id and version.
    public func list() throws -> [RegistryIndex.Entry] {
        guard FileManager.default.fileExists(atPath: root.path) else { return [] }
        return try locked(exclusive: false) { try RegistryIndex.read(indexURL).entries }
    }

    /// The installed package `ref` names (the newest version when it names none).
    public func package(_ ref: ModelReference) throws -> ZooPackage {
        let entries = try list().filter { $0.id == ref.id }
        let chosen: RegistryIndex.Entry?
        if let v = ref.version {
            chosen = entries.first { SemanticVersion($0.version) == v }
        } else {
            chosen = entries.max { (SemanticVersion($0.version) ?? SemanticVersion("0.0.0")!) < (SemanticVersion($1.version) ?? SemanticVersion("0.0.0")!) }
        }
        guard let entry = chosen else {
            let known = entries.map(\.version)
            throw ToolkitError(.missingFile, subject: root.path, "\(ref) is not installed" + (known.isEmpty ? "" : " (installed versions: \(known.joined(separator: ", ")))"))
        }
        return try ZooPackage.read(root.appendingPathComponent(entry.path))
    }

    /// The installed base a delta names, if present (its hash is checked by the verifier).
    public func base(_ b: Manifest.BaseReference) -> ZooPackage? {
        guard let v = SemanticVersion(b.version) else { return nil }
        return try? package(ModelReference(id: b.id, version: v))
    }

    /// The SAM model of an installed package (base weights + delta for a delta), ready to run.
    public func model(_ ref: ModelReference) throws -> SAMModel {
        let p = try package(ref)
        return try p.model(base: p.manifest.base.flatMap { base($0) })
    }

    /// The model of an installed package of any family (base weights + delta for a delta).
    public func load(_ ref: ModelReference) throws -> any PackagedModel {
        let p = try package(ref)
        return try p.load(base: p.manifest.base.flatMap { base($0) })
    }

    /// Verifies an installed package (signatures against the registry's trusted keys; `strict` or the
    /// registry's policy refuses unsigned and untrusted ones).
    public func verify(_ ref: ModelReference, numbers: Bool, strict: Bool = false) throws -> VerificationReport {
        let p = try package(ref)
        return try verify(p.directory, numbers: numbers, strict: strict)
    }

    /// Verifies a package folder against this registry (its bases, trusted keys and policy).
    public func verify(_ directory: URL, numbers: Bool, strict: Bool = false) throws -> VerificationReport {
        let c = try config()
        return Verifier.verify(directory, numbers: numbers, base: { self.base($0) }, baseLocation: root.path,
                               trusted: c.trustedKeys, strict: strict || c.requireSignature)
    }

    /// An installed package that passes verification (files and hashes), for actions that hand it on:
    /// `action` names what is refused otherwise ("packed", "exported").
    public func verifiedPackage(_ ref: ModelReference, for action: String) throws -> ZooPackage {
        let report = try verify(ref, numbers: false)
        guard report.ok else {
            throw ToolkitError(.verificationFailed, subject: "\(ref)", "not \(action): the installed package fails verification:\n" + report.summary)
        }
        return try package(ref)
    }

    /// What `install` did.
    public enum InstallOutcome: Equatable {
        case installed(RegistryIndex.Entry)
        /// The same package (byte-identical manifest) was already installed: nothing changed.
        case alreadyInstalled(RegistryIndex.Entry)
    }

    /// Installs a package from a `.tar` archive or a package folder: copies it into the registry's staging
    /// area, verifies it there (the golden numbers too unless `numbers` is false, which the index records;
    /// the signature against the trusted keys, refusing unsigned or untrusted ones when `strict` or the
    /// registry's policy says so), then moves it into place and updates the index. Throws with every verification issue when it fails; the registry is then unchanged.
    @discardableResult
    public func install(from source: URL, numbers: Bool = true, strict: Bool = false) throws -> InstallOutcome {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source.path, isDirectory: &isDir) else {
            throw ToolkitError(.missingFile, subject: source.path, "no such file or folder")
        }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        return try locked(exclusive: true) {
            let fm = FileManager.default
            let stage = stagingURL.appendingPathComponent(UUID().uuidString)
            defer {
                try? fm.removeItem(at: stage)
                if (try? fm.contentsOfDirectory(atPath: stagingURL.path))?.isEmpty == true { try? fm.removeItem(at: stagingURL) }
            }
            try fm.createDirectory(at: stage, withIntermediateDirectories: true)
            let unpacked = stage.appendingPathComponent("package")
            if isDir.boolValue {
                try copyTree(from: source, to: unpacked)
            } else {
                try fm.createDirectory(at: unpacked, withIntermediateDirectories: false)
                try TarArchive.unpack(source, into: unpacked)
            }
            let c = try RegistryConfig.read(configURL)
            let report = Verifier.verify(unpacked, numbers: numbers, base: { self.baseUnlocked($0) }, baseLocation: root.path,
                                         trusted: c.trustedKeys, strict: strict || c.requireSignature)
            guard report.ok else {
                throw ToolkitError(.verificationFailed, subject: source.path, "not installed: verification failed:\n" + report.summary)
            }
            let manifest = try Manifest.read(unpacked.appendingPathComponent(PackageLayout.manifest))
            let manifestHash = try FileDigest.sha256(of: unpacked.appendingPathComponent(PackageLayout.manifest)).hex
            var index = try RegistryIndex.read(indexURL)
            let rel = Self.relativePath(id: manifest.id, version: manifest.version)
            if let existing = index.entries.first(where: { $0.id == manifest.id && $0.version == manifest.version }) {
                if existing.manifestSHA256 == manifestHash { return .alreadyInstalled(existing) }
                throw ToolkitError(.mismatch, subject: source.path, "\(manifest.reference) is already installed with other content "
                               + "(manifest sha256 \(existing.manifestSHA256), this one \(manifestHash)); remove it first")
            }
            let dest = root.appendingPathComponent(rel)
            if fm.fileExists(atPath: dest.path) {
                // Not in the index: left by an install that died between the rename and the index write.
                // The index is the truth and we hold the exclusive lock, so the orphan goes.
                let orphan = stagingURL.appendingPathComponent("orphan-\(UUID().uuidString)")
                guard rename(dest.path, orphan.path) == 0 else {
                    throw ToolkitError(.writeFailed, subject: dest.path, "exists but is not in index.json, and cannot be moved aside: \(String(cString: strerror(errno)))")
                }
                try? fm.removeItem(at: orphan)
            }
            let created = try makeParents(of: dest)
            let entry = RegistryIndex.Entry(id: manifest.id, version: manifest.version, kind: manifest.kind, base: manifest.base?.reference,
                                            path: rel, manifestSHA256: manifestHash, organ: manifest.organ, license: manifest.license,
                                            installed: ISO8601DateFormatter().string(from: Date()),
                                            numbersVerified: numbers, signature: report.signature.short)
            do {
                guard rename(unpacked.path, dest.path) == 0 else {
                    throw ToolkitError(.writeFailed, subject: dest.path, "cannot move the verified package into place: \(String(cString: strerror(errno)))")
                }
                index.entries.append(entry)
                try index.write(to: indexURL)
            } catch {
                try? fm.removeItem(at: dest)
                for dir in created.reversed() { try? fm.removeItem(at: dir) }
                throw error
            }
            return .installed(entry)
        }
    }

    /// Removes an installed package. Refuses while an installed delta names it as its base.
    @discardableResult
    public func remove(_ ref: ModelReference) throws -> RegistryIndex.Entry {
        guard let version = ref.version else { throw ToolkitError(.invalidArgument, "remove needs ID@VERSION, got '\(ref)'") }
        guard FileManager.default.fileExists(atPath: root.path) else { throw ToolkitError(.missingFile, subject: root.path, "\(ref) is not installed (no registry here)") }
        return try locked(exclusive: true) {
            var index = try RegistryIndex.read(indexURL)
            guard let i = index.entries.firstIndex(where: { $0.id == ref.id && SemanticVersion($0.version) == version }) else {
                throw ToolkitError(.missingFile, subject: root.path, "\(ref) is not installed")
            }
            let entry = index.entries[i]
            let dependents = index.entries.filter { $0.base == entry.reference }.map(\.reference)
            guard dependents.isEmpty else {
                throw ToolkitError(.invalidArgument, subject: root.path, "\(entry.reference) is the base of \(dependents.joined(separator: ", ")); remove those first")
            }
            // Move the folder aside first, so the index never names a half-deleted package.
            let fm = FileManager.default
            let dir = root.appendingPathComponent(entry.path)
            let trash = stagingURL.appendingPathComponent("removed-\(UUID().uuidString)")
            try fm.createDirectory(at: stagingURL, withIntermediateDirectories: true)
            if fm.fileExists(atPath: dir.path) {
                guard rename(dir.path, trash.path) == 0 else {
                    throw ToolkitError(.writeFailed, subject: dir.path, "cannot move aside: \(String(cString: strerror(errno)))")
                }
            }
            index.entries.remove(at: i)
            do { try index.write(to: indexURL) } catch {
                _ = rename(trash.path, dir.path)
                throw error
            }
            try? fm.removeItem(at: trash)
            if (try? fm.contentsOfDirectory(atPath: stagingURL.path))?.isEmpty == true { try? fm.removeItem(at: stagingURL) }
            // Drop the id's folder when its last version goes.
            let idDir = dir.deletingLastPathComponent()
            if (try? fm.contentsOfDirectory(atPath: idDir.path))?.isEmpty == true { try? fm.removeItem(at: idDir) }
            return entry
        }
    }

    /// Runs `body` under the registry lock. Under the exclusive lock, leftovers of crashed operations in
    /// `.staging/` are removed first (nobody else can be using them).
    private func locked<T>(exclusive: Bool, _ body: () throws -> T) throws -> T {
        try lock.withLock(exclusive: exclusive) {
            if exclusive, FileManager.default.fileExists(atPath: stagingURL.path) { try? FileManager.default.removeItem(at: stagingURL) }
            return try body()
        }
    }

    /// `base(_:)` for use while the lock is already held.
    private func baseUnlocked(_ b: Manifest.BaseReference) -> ZooPackage? {
        guard let index = try? RegistryIndex.read(indexURL),
              let e = index.entries.first(where: { $0.id == b.id && $0.version == b.version }) else { return nil }
        return try? ZooPackage.read(root.appendingPathComponent(e.path))
    }

    /// Creates the missing parent folders of `url`; returns those it created, outermost first.
    private func makeParents(of url: URL) throws -> [URL] {
        var missing: [URL] = []
        var dir = url.deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.path) && dir.path.hasPrefix(root.path) && dir.path != root.path {
            missing.insert(dir, at: 0)
            dir = dir.deletingLastPathComponent()
        }
        for d in missing { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: false) }
        return missing
    }

    /// Copies regular files and folders of a package folder; links and other entries are refused.
    private func copyTree(from src: URL, to dst: URL) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: dst, withIntermediateDirectories: false)
        for name in try fm.contentsOfDirectory(atPath: src.path).sorted() {
            let s = src.appendingPathComponent(name), d = dst.appendingPathComponent(name)
            let type = try fm.attributesOfItem(atPath: s.path)[.type] as? FileAttributeType
            switch type {
            case .typeDirectory?: try copyTree(from: s, to: d)
            case .typeRegular?: try fm.copyItem(at: s, to: d)
            default: throw ToolkitError(.invalidFile, subject: s.path, "is not a regular file or folder; a package holds only those")
            }
        }
    }
}
