import Diagnostics
import Foundation
import Formats
import SAM
import TensorCore

/// One thing that failed verification: the file (relative to the package, or a base's file) and what
/// differs, expected versus actual.
public struct VerificationIssue: CustomStringConvertible, Equatable, Sendable {
    public let file: String
    public let message: String
    public init(file: String, _ message: String) { (self.file, self.message) = (file, message) }
    public var description: String { "\(file): \(message)" }
}

/// What `Verifier` found: the checks that passed and the issues; it passes only without issues.
public struct VerificationReport: Sendable {
    public var reference: String
    public var passed: [String] = []
    public var issues: [VerificationIssue] = []
    /// What the package's signature says (`unsigned` until checked).
    public var signature: ManifestSignature.Status = .unsigned
    public var ok: Bool { issues.isEmpty }

    /// Every issue as lines (for errors and the CLI).
    public var summary: String { issues.map { "  " + $0.description }.joined(separator: "\n") }
}

/// Checks a package before anyone trusts it: the manifest's schema, the size and SHA-256 of every file,
/// no unlisted files, the base of a delta present with the pinned SHA-256, and optionally the numbers:
/// the golden prompts rerun (base + delta for a delta) and compared with the tolerance.
public enum Verifier {
    /// Verifies the package in `directory`. `base` finds an installed base package (nil when missing);
    /// `baseLocation` says where it was looked for, for the message.
    /// `trusted`: the keys whose signatures count as trusted; `strict`: refuse a package unless such a key
    /// signed it. A signature that does not verify is refused under any policy.
    public static func verify(_ directory: URL, numbers: Bool, base findBase: (Manifest.BaseReference) -> ZooPackage?,
                              baseLocation: String, trusted: [TrustedKey] = [], strict: Bool = false) -> VerificationReport {
        var report = VerificationReport(reference: directory.path)
        func issue(_ file: String, _ message: String) { report.issues.append(VerificationIssue(file: file, message)) }

        let package: ZooPackage
        do { package = try ZooPackage.read(directory) } catch let e as ToolkitError {
            issue(PackageLayout.manifest, e.message); return report
        } catch { issue(PackageLayout.manifest, "\(error)"); return report }
        let m = package.manifest
        report.reference = m.reference

        let schema = ManifestSchema.problems(m)
        for p in schema { issue(PackageLayout.manifest, p) }
        if schema.isEmpty { report.passed.append("manifest: schema \(m.schema), \(m.kind.rawValue) \(m.reference)") }

        // Files: every listed one with its size and hash; nothing else.
        let before = report.issues.count
        var total = 0
        for f in m.files where PackageLayout.pathProblem(f.path) == nil {
            let url = directory.appendingPathComponent(f.path)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue else {
                issue(f.path, "missing (manifest.json lists \(f.size) bytes, sha256 \(f.sha256))"); continue
            }
            if let type = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.type] as? FileAttributeType, type == .typeSymbolicLink {
                issue(f.path, "is a symbolic link; a package holds only regular files"); continue
            }
            do {
                let d = try FileDigest.sha256(of: url)
                total += d.size
                if d.size != f.size { issue(f.path, "size \(d.size) bytes, manifest.json says \(f.size)") }
                if d.hex != f.sha256 { issue(f.path, "sha256 \(d.hex), manifest.json says \(f.sha256)") }
            } catch { issue(f.path, "\(error)") }
        }
        let listed = Set(m.files.map(\.path) + [PackageLayout.manifest, PackageLayout.signature])
        for extra in allFiles(in: directory) where !listed.contains(extra) {
            issue(extra, "is in the package but not listed in manifest.json")
        }
        let filesOK = report.issues.count == before
        if filesOK { report.passed.append("files: \(m.files.count) files, \(total) bytes, sizes and sha256 match") }

        // Signature: of the manifest's bytes, which hash every other file.
        report.signature = ManifestSignature.status(of: directory, trusted: trusted)
        switch report.signature {
        case .invalid(let why): issue(PackageLayout.signature, why)
        case .signedTrusted: report.passed.append("signature: \(report.signature)")
        case .unsigned, .signedUnknown:
            if strict { issue(PackageLayout.signature, "refused under the strict signature policy: \(report.signature)") }
            else { report.passed.append("signature: \(report.signature)") }
        }

        // Base: present, and its weight file hashes to the pinned value.
        var basePackage: ZooPackage? = nil
        if m.kind == .delta, let b = m.base {
            if let found = findBase(b) {
                let weights = found.url(found.manifest.weights.path)
                do {
                    let d = try FileDigest.sha256(of: weights)
                    if d.hex == b.sha256 {
                        basePackage = found
                        report.passed.append("base: \(b.reference) present, weights sha256 matches")
                    } else {
                        issue(weights.path, "base \(b.reference) weights have sha256 \(d.hex), manifest.json's base.sha256 says \(b.sha256)")
                    }
                } catch { issue(weights.path, "base \(b.reference): \(error)") }
            } else {
                issue(PackageLayout.manifest, "base \(b.reference) (sha256 \(b.sha256)) is not installed in \(baseLocation); install it first")
            }
        }

        guard numbers else { return report }
        guard report.ok else {
            issue(PackageLayout.goldenOutputs, "numbers not checked: the package failed the checks above")
            return report
        }
        do {
            let (passed, mismatches) = try package.checkNumbers(base: basePackage)
            for why in mismatches { issue(PackageLayout.goldenOutputs, why) }
            if mismatches.isEmpty {
                let what = m.family == .ssmSAM ? "golden 1-shot adaptation reproduced" : "golden outputs reproduced"
                report.passed.append("numbers: \(what): " + passed.joined(separator: "; "))
            }
        } catch let e as ToolkitError where !e.subject.isEmpty {
            issue(e.subject.hasPrefix(directory.path) ? String(e.subject.dropFirst(directory.path.count + 1)) : e.subject, e.message)
        } catch { issue(PackageLayout.goldenOutputs, "cannot rerun the golden inputs: \(error)") }
        return report
    }

    /// Every file and link under `directory`, as relative paths.
    static func allFiles(in directory: URL) -> [String] {
        var out: [String] = []
        func walk(_ rel: String) {
            let url = rel.isEmpty ? directory : directory.appendingPathComponent(rel)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: url.path) else { return }
            for n in names.sorted() {
                let child = rel.isEmpty ? n : rel + "/" + n
                let attrs = try? FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(child).path)
                if attrs?[.type] as? FileAttributeType == .typeDirectory { walk(child) } else { out.append(child) }
            }
        }
        walk("")
        return out
    }
}
