import Foundation
import XCTest
import TestSupport
import Formats
import SAM
import Zoo

/// The small random SAM of the SAM tests, packages made from it, temporary folders and registry snapshots.
enum ZooFixtures {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let samSmall = repo.appendingPathComponent("Tests/SAMTests/Fixtures/sam_small.safetensors")

    /// sam_small's architecture: decoder heads 4 (shapes cannot tell them; scripts/make_sam_fixtures.py).
    static var config: SAMConfig {
        var c = SAMConfig()
        (c.encoder.imageSize, c.encoder.patchSize, c.encoder.embedDim, c.encoder.depth, c.encoder.heads) = (128, 16, 64, 4, 2)
        (c.encoder.mlpDim, c.encoder.windowSize, c.encoder.globalAttentionBlocks, c.encoder.outChannels) = (256, 3, [1, 3], 32)
        (c.decoder.promptDim, c.decoder.heads, c.decoder.mlpDim, c.decoder.iouHeadHidden) = (32, 4, 64, 32)
        return c
    }

    static let baseID = "test/sam-small-random"

    /// A fresh temporary folder, removed by the test's teardown.
    static func temporaryDirectory(_ test: XCTestCase, _ name: String = "zoo") throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// Builds the base package (sam_small, random init) into `dir/name`.
    @discardableResult
    static func buildBase(in dir: URL, name: String = "base", version: String = "1.0.0", checkpoint: URL = samSmall) throws -> URL {
        var r = PackageRequest(checkpoint: checkpoint, id: baseID, version: version)
        r.config = config
        r.license = "apache-2.0"
        let out = dir.appendingPathComponent(name)
        try PackageBuilder.build(r, into: out, toolkitVersion: "test")
        return out
    }

    /// sam_small with the IoU head's last bias shifted by 0.5 and one extra tensor: "fine-tuned heads".
    static func tunedCheckpoint(in dir: URL) throws -> URL {
        var (dict, _) = try SafeTensors.read(samSmall)
        let name = "mask_decoder.iou_prediction_head.layers.2.bias"
        var t = dict[name]!.floatTensor
        for i in t.data.indices { t.data[i] += 0.5 }
        dict[name] = StoredTensor(t)
        let url = dir.appendingPathComponent("tuned.safetensors")
        try SafeTensors.write(dict, to: url)
        return url
    }

    /// Builds a delta on an installed base into `dir/name`.
    static func buildDelta(in dir: URL, base: ZooPackage, name: String = "delta") throws -> URL {
        var r = PackageRequest(checkpoint: try tunedCheckpoint(in: dir), id: "ssm-sam/small/liver", version: "0.1.0")
        r.base = base
        (r.organ, r.modality, r.license) = ("liver", "CT", "apache-2.0")
        r.metrics = .object(["dice_mean": .number(0.5)])
        let out = dir.appendingPathComponent(name)
        try PackageBuilder.build(r, into: out, toolkitVersion: "test")
        return out
    }

    /// Packs a package folder into a `.tar` beside it.
    static func pack(_ dir: URL) throws -> URL {
        let p = try ZooPackage.read(dir)
        let tar = dir.deletingLastPathComponent().appendingPathComponent(dir.lastPathComponent + ".tar")
        try TarArchive.pack(directory: dir, paths: [PackageLayout.manifest] + p.manifest.files.map(\.path), to: tar)
        return tar
    }

    /// Rewrites a package's manifest with the current sizes and hashes of its files (what a forger would do).
    static func resign(_ dir: URL) throws {
        var m = try ZooPackage.read(dir).manifest
        m.files = try PackageBuilder.fileEntries(in: dir, paths: m.files.map(\.path))
        try AtomicFile.write(try m.encoded(), to: dir.appendingPathComponent(PackageLayout.manifest))
    }

    /// Every file and folder under `dir` with a hash of each file: equal snapshots mean an unchanged tree.
    static func snapshot(_ dir: URL) throws -> [String: String] {
        var out: [String: String] = [:]
        guard let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: [.isDirectoryKey]) else { return out }
        for case let url as URL in e {
            let rel = String(url.standardizedFileURL.path.dropFirst(dir.standardizedFileURL.path.count))
            let isDir = (try url.resourceValues(forKeys: [.isDirectoryKey])).isDirectory ?? false
            out[rel] = isDir ? "dir" : try FileDigest.sha256(of: url).hex
        }
        return out
    }

    /// Copies a package folder.
    static func copy(_ dir: URL, to name: String) throws -> URL {
        let dst = dir.deletingLastPathComponent().appendingPathComponent(name)
        try FileManager.default.copyItem(at: dir, to: dst)
        return dst
    }
}
