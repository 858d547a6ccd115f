import Foundation
import XCTest
import TestSupport
import Formats
import TensorCore
import Zoo

/// Each damage makes install (and verify) fail with a message naming the file and what differs, and
/// leaves the registry exactly as it was.
final class TamperTests: XCTestCase {
    private var work: URL!
    private var registry: Registry!
    private var base: URL!

    override func setUpWithError() throws {
        work = try ZooFixtures.temporaryDirectory(self)
        registry = Registry(root: work.appendingPathComponent("registry"))
        base = try ZooFixtures.buildBase(in: work)
        try registry.install(from: base)  // the registry is not empty: its state must survive every failure
    }

    /// Installs `source`, expecting failure with `fragments`, and checks the registry did not change.
    private func assertInstallFails(_ source: URL, numbers: Bool = false, _ fragments: [String],
                                    file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try ZooFixtures.snapshot(registry.root)
        assertThrows(fragments, file: file, line: line) { try registry.install(from: source, numbers: numbers) }
        XCTAssertEqual(try ZooFixtures.snapshot(registry.root), before, "the registry changed", file: file, line: line)
    }

    private func makeOtherVersion(_ version: String) throws -> URL {
        try ZooFixtures.buildBase(in: work, name: "v\(version)", version: version)
    }

    func testFlippedByteInWeights() throws {
        let pkg = try makeOtherVersion("1.0.1")
        let weights = pkg.appendingPathComponent(PackageLayout.weights)
        let listed = try ZooPackage.read(pkg).manifest.file(PackageLayout.weights)!.sha256
        var bytes = try Data(contentsOf: weights)
        bytes[bytes.count - 100] ^= 0x01
        try bytes.write(to: weights)
        let actual = try FileDigest.sha256(of: weights).hex
        let message = "weights.safetensors: sha256 \(actual), manifest.json says \(listed)"
        try assertInstallFails(pkg, [message])
        try assertInstallFails(try ZooFixtures.pack(pkg), [message])

        // The same damage inside an installed package: verify names it.
        let installed = try registry.package(try ModelReference(parsing: ZooFixtures.baseID))
        let w = installed.url(PackageLayout.weights)
        var b = try Data(contentsOf: w)
        b[b.count - 100] ^= 0x01
        try b.write(to: w)
        let report = try registry.verify(try ModelReference(parsing: "test/sam-small-random@1.0.0"), numbers: true)
        XCTAssertFalse(report.ok)
        XCTAssert(report.issues.contains { $0.file == "weights.safetensors" && $0.message.hasPrefix("sha256 ") && $0.message.contains("manifest.json says \(listed)") },
                  report.summary)
    }

    func testTruncatedArchive() throws {
        let tar = try ZooFixtures.pack(try makeOtherVersion("1.0.2"))
        let data = try Data(contentsOf: tar)
        try data.prefix(data.count / 2).write(to: tar)
        try assertInstallFails(tar, [tar.path, "truncated"])
        // Cut inside the tar header blocks of the first entry too.
        try data.prefix(700).write(to: tar)
        try assertInstallFails(tar, [tar.path])
    }

    func testManifestLiesAboutASize() throws {
        let pkg = try makeOtherVersion("1.0.3")
        var m = try ZooPackage.read(pkg).manifest
        let i = m.files.firstIndex { $0.path == PackageLayout.goldenPrompts }!
        let real = m.files[i].size
        m.files[i].size += 7
        try AtomicFile.write(try m.encoded(), to: pkg.appendingPathComponent(PackageLayout.manifest))
        try assertInstallFails(pkg, ["golden/prompts.json: size \(real) bytes, manifest.json says \(real + 7)"])
        try assertInstallFails(try ZooFixtures.pack(pkg), ["golden/prompts.json: size \(real) bytes, manifest.json says \(real + 7)"])
    }

    func testDeltaWhoseBaseIsMissing() throws {
        let installedBase = try registry.package(try ModelReference(parsing: ZooFixtures.baseID))
        let delta = try ZooFixtures.buildDelta(in: work, base: installedBase)
        let empty = Registry(root: work.appendingPathComponent("empty-registry"))
        let tar = try ZooFixtures.pack(delta)
        // A registry without the base.
        _ = try? empty.list()
        try FileManager.default.createDirectory(at: empty.root, withIntermediateDirectories: true)
        let before = try ZooFixtures.snapshot(empty.root)
        assertThrows(["manifest.json: base test/sam-small-random@1.0.0", "is not installed in \(empty.root.path)"]) {
            try empty.install(from: tar)
        }
        // Only the lock file may have appeared.
        XCTAssertEqual(try ZooFixtures.snapshot(empty.root).filter { $0.key != "/.lock" }, before)
    }

    func testDeltaWhoseBaseHasAnotherSHA256() throws {
        let installedBase = try registry.package(try ModelReference(parsing: ZooFixtures.baseID))
        let delta = try ZooFixtures.buildDelta(in: work, base: installedBase)
        let pinned = try ZooPackage.read(delta).manifest.base!.sha256

        // Another registry where test/sam-small-random@1.0.0 was built from other weights.
        let other = Registry(root: work.appendingPathComponent("other-registry"))
        let impostor = try ZooFixtures.buildBase(in: work, name: "impostor", checkpoint: try ZooFixtures.tunedCheckpoint(in: work))
        try other.install(from: impostor)
        let impostorSHA = try ZooPackage.read(impostor).manifest.file(PackageLayout.weights)!.sha256
        let before = try ZooFixtures.snapshot(other.root)
        assertThrows(["weights.safetensors: base test/sam-small-random@1.0.0 weights have sha256 \(impostorSHA), manifest.json's base.sha256 says \(pinned)"]) {
            try other.install(from: try ZooFixtures.pack(delta))
        }
        XCTAssertEqual(try ZooFixtures.snapshot(other.root), before)
    }

    func testGoldenOutputThatNoLongerMatches() throws {
        let pkg = try makeOtherVersion("1.0.4")
        let outputs = pkg.appendingPathComponent(PackageLayout.goldenOutputs)
        var dict = try SafeTensors.read(outputs).tensors
        var logits = dict[GoldenPrompts.logitsName]!.floatTensor
        let original = logits.data[1234]
        logits.data[1234] += 2.5
        dict[GoldenPrompts.logitsName] = StoredTensor(logits)
        try SafeTensors.write(dict, to: outputs)
        try ZooFixtures.resign(pkg)  // sizes and hashes agree again: only the numbers can tell

        XCTAssert(Verifier.verify(pkg, numbers: false, base: { _ in nil }, baseLocation: "-").ok)
        let expected = String(format: "%.6g", Double(logits.data[1234])), actual = String(format: "%.6g", Double(original))
        let fragments = ["golden/outputs.safetensors: low_res_logits differs: max |actual - expected| = 2.5",
                         "at [0, 1, 6, 18] (expected \(expected), actual \(actual))"]
        try assertInstallFails(pkg, numbers: true, fragments)
        let report = Verifier.verify(pkg, numbers: true, base: { _ in nil }, baseLocation: "-")
        XCTAssertEqual(report.issues.count, 1, report.summary)
        XCTAssertEqual(report.issues.first?.file, "golden/outputs.safetensors")
    }

    func testUnlistedFileAndUnsafeArchiveEntries() throws {
        let pkg = try makeOtherVersion("1.0.5")
        try Data("x".utf8).write(to: pkg.appendingPathComponent("golden/extra.txt"))
        try assertInstallFails(pkg, ["golden/extra.txt: is in the package but not listed in manifest.json"])

        // A tar whose entry climbs out of the destination is refused before anything lands.
        let evil = work.appendingPathComponent("evil")
        try FileManager.default.createDirectory(at: evil, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: evil.appendingPathComponent("manifest.json"))
        let tar = work.appendingPathComponent("evil.tar")
        try TarArchive.pack(directory: evil, paths: ["manifest.json"], to: tar)
        var bytes = try Data(contentsOf: tar)
        let name = Array("../../../x.json".utf8)  // overwrite the name in the first ustar header (pax_restricted)
        for i in 0..<100 { bytes[i] = i < name.count ? name[i] : 0 }
        var sum = 0
        for i in 0..<512 { sum += (148..<156).contains(i) ? 32 : Int(bytes[i]) }
        let chk = Array(String(format: "%06o\0 ", sum).utf8)
        for i in 0..<8 { bytes[148 + i] = chk[i] }
        try bytes.write(to: tar)
        try assertInstallFails(tar, ["entry '../../../x.json'"])
    }

    func testHostileGoldenFiles() throws {
        // prompts.json pointing outside the package.
        let pkg = try makeOtherVersion("1.0.7")
        let prompts = pkg.appendingPathComponent(PackageLayout.goldenPrompts)
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: prompts)) as! [String: Any]
        json["image"] = "../../../etc/passwd"
        try JSONSerialization.data(withJSONObject: json).write(to: prompts)
        try ZooFixtures.resign(pkg)
        try assertInstallFails(pkg, numbers: true, ["golden/prompts.json", "image and outputs must be golden/input.png and golden/outputs.safetensors, found ../../../etc/passwd"])

        // A PNG whose header claims 100000 pixels: refused before decoding.
        let big = try makeOtherVersion("1.0.8")
        let png = big.appendingPathComponent(PackageLayout.goldenImage)
        var bytes = try Data(contentsOf: png)
        for (i, b) in [0x00, 0x01, 0x86, 0xA0].enumerated() { bytes[16 + i] = UInt8(b) }
        try bytes.write(to: png)
        try ZooFixtures.resign(big)
        try assertInstallFails(big, numbers: true, ["golden/input.png", "image is 100000 x 96 pixels, at most 4096 x 4096"])
    }

    func testBadManifestSchema() throws {
        let pkg = try makeOtherVersion("1.0.6")
        let url = pkg.appendingPathComponent(PackageLayout.manifest)
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        json["version"] = "1.0"
        json["metrics"] = ["dice_mean": 1.7]
        json.removeValue(forKey: "license")
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        try assertInstallFails(pkg, ["manifest.json: not a valid manifest: missing field 'license'"])
        json["license"] = "mit"
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        try assertInstallFails(pkg, ["manifest.json: version '1.0' is not a semantic version", "metrics.dice_mean is 1.7, expected a number in [0, 1]"])
    }
}
