import FewShot
import Foundation
import Formats
import Imaging
import SAM
import SSMSAM
import TensorCore
import TestSupport
import XCTest
@testable import Zoo

/// SSM-SAM packages on the small random SAM: publish -> pack -> install -> verify (the golden 1-shot adaptation
/// rerun), each encoding, signatures under both policies, and tampering refused with the reason and the
/// registry left byte-identical.
final class SSMSAMPackageTests: XCTestCase {
    /// Small heads on sam_small (32 channels): the cheap path, so it runs in seconds.
    static var headConfig: SSMSAMConfig {
        var c = SSMSAMConfig(base: ZooFixtures.config)
        (c.adapters, c.globalQueries, c.samplerLayers, c.samplerHeads, c.samplerMLP, c.headWidth) = (false, 4, 1, 4, 32, 8)
        (c.positivePoints, c.negativePoints) = (2, 2)
        return c
    }

    /// A registry with the base installed, and a "meta-trained" model: seeded heads moved off their
    /// initialisation (as training does) plus two learned steps.
    func setUpRegistry() throws -> (dir: URL, registry: Registry, base: ZooPackage, model: URL) {
        let dir = try ZooFixtures.temporaryDirectory(self, "ssm-zoo")
        let registry = Registry(root: dir.appendingPathComponent("registry"))
        try registry.install(from: try ZooFixtures.buildBase(in: dir))
        let base = try registry.package(try ModelReference(parsing: "\(ZooFixtures.baseID)@1.0.0"))
        let model = try SSMSAMModel(base: try registry.model(try ModelReference(parsing: "\(ZooFixtures.baseID)@1.0.0")), config: Self.headConfig)
        try model.initializeHeads(seed: 7)
        model.assignNames()
        var rng = SeededGenerator(seed: 11)
        var dict = model.stateDict()
        for (name, t) in dict.entries where HeadInitialisation.isHead(name) {
            var v = t.floatTensor
            for i in v.data.indices { v.data[i] += 1e-3 * (rng.nextUnitFloat() - 0.5) }
            dict[name] = StoredTensor(v)
        }
        try model.load(dict, file: "moved heads")
        let rates = try LearnedStepRates(model: model, steps: 2, alpha: 2e-3)
        let url = dir.appendingPathComponent("model.safetensors")
        try MetaModelFile.save(model, rates: rates, to: url)
        return (dir, registry, base, url)
    }

    /// A bright disc on a darker square: the support, its mask, and the query with the disc moved.
    static func golden() throws -> (Image8, [Bool], Image8) {
        func disc(_ cx: Int, _ cy: Int) throws -> (Image8, [Bool]) {
            var px = [UInt8](repeating: 40, count: 96 * 80), mask = [Bool](repeating: false, count: 96 * 80)
            for y in 0..<80 { for x in 0..<96 where (x - cx) * (x - cx) + (y - cy) * (y - cy) < 196 { px[y * 96 + x] = 200; mask[y * 96 + x] = true } }
            return (try Image8(width: 96, height: 80, channels: 1, pixels: px), mask)
        }
        let (s, m) = try disc(40, 36), (q, _) = try disc(48, 42)
        return (s, m, q)
    }

    func request(_ base: ZooPackage, model: URL, encoding: PublishRequest.Encoding = .q4Residual(seed: 7)) throws -> PublishRequest {
        let (s, m, q) = try Self.golden()
        var r = PublishRequest(model: model, base: base, id: "test/ssm-small-liver", version: "1.0.0", support: s, supportMask: m, query: q,
                               golden: AdaptationGolden(method: .learnedRates, steps: 2, source: "a synthetic disc"))
        (r.organ, r.modality, r.license, r.encoding) = ("liver", "CT", "apache-2.0", encoding)
        r.training = .object(["test_organ": .string("liver"), "seed": .number(7), "inner_steps": .number(2)])
        return r
    }

    func testPublishPackInstallVerifyRoundTrip() throws {
        let (dir, registry, base, modelURL) = try setUpRegistry()
        let out = dir.appendingPathComponent("pkg")
        let (m, error) = try SSMSAMPublisher.publish(try request(base, model: modelURL), into: out, toolkitVersion: "test")
        XCTAssertEqual(m.family, .ssmSAM)
        XCTAssertEqual(m.schema, Manifest.familySchema)
        XCTAssertEqual(m.weights.encoding, ResidualCodec.encoding)
        XCTAssertEqual(m.weights.replaces, 0)
        XCTAssertLessThan(error, 1e-4)
        XCTAssertEqual(ManifestSchema.problems(m), [])

        // Through a .tar into the registry, numbers rerun; the model is the trained one within the encoding's error.
        try registry.install(from: try ZooFixtures.pack(out))
        let ref = try ModelReference(parsing: "test/ssm-small-liver@1.0.0")
        XCTAssertEqual(try registry.list().first { $0.id == ref.id }?.numbersVerified, true)
        let report = try registry.verify(ref, numbers: true)
        XCTAssert(report.ok, report.summary)
        XCTAssert(report.passed.contains { $0.contains("golden 1-shot adaptation reproduced") }, "\(report.passed)")
        let meta = try XCTUnwrap(try registry.load(ref) as? MetaInitialisation)
        let (trained, trainedRates) = try MetaModelFile.load(modelURL)
        for (name, t) in trained.stateDict().entries {
            let published = try XCTUnwrap(meta.model.stateDict()[name]).floatTensor.data
            let worst = zip(published, t.floatTensor.data).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, error * 1.0001 + 1e-9, name)
        }
        XCTAssertEqual(meta.rates?.stateDict(), trainedRates?.stateDict())
        XCTAssertThrowsError(try registry.model(ref)) { XCTAssert("\($0)".contains("not a SAM model"), "\($0)") }
    }

    func testF32PackageIsTheModelBitForBit() throws {
        let (dir, registry, base, modelURL) = try setUpRegistry()
        let out = dir.appendingPathComponent("pkg32")
        let (m, error) = try SSMSAMPublisher.publish(try request(base, model: modelURL, encoding: .f32), into: out, toolkitVersion: "test")
        XCTAssertEqual(error, 0)
        XCTAssertNil(m.weights.encoding)
        try registry.install(from: out)
        let meta = try XCTUnwrap(try registry.load(try ModelReference(parsing: "test/ssm-small-liver@1.0.0")) as? MetaInitialisation)
        XCTAssertEqual(meta.model.stateDict(), try MetaModelFile.load(modelURL).model.stateDict())
    }

    func testTamperedPackagesAreRefusedAndTheRegistryUnchanged() throws {
        let (dir, registry, base, modelURL) = try setUpRegistry()
        let good = dir.appendingPathComponent("good")
        try SSMSAMPublisher.publish(try request(base, model: modelURL), into: good, toolkitVersion: "test")
        let before = try ZooFixtures.snapshot(registry.root)
        func refused(_ name: String, _ fragments: [String], strict: Bool = false, _ tamper: (URL) throws -> Void) throws {
            let copy = try ZooFixtures.copy(good, to: name)
            try tamper(copy)
            assertThrows(fragments) { try registry.install(from: copy, strict: strict) }
            XCTAssertEqual(try ZooFixtures.snapshot(registry.root), before, "\(name) changed the registry")
        }
        // A flipped byte in a head weight: the hash says so.
        try refused("flipped", ["weights.safetensors", "sha256"]) { try flipLastByte($0.appendingPathComponent(PackageLayout.weights)) }
        // The same byte with the manifest's hashes forged to match: the golden adaptation says so.
        try refused("forged", ["differs"]) { dir in
            try editHeadWeight(dir)
            try ZooFixtures.resign(dir)
        }
        // An edited record.
        try refused("record", ["record.json", "sha256"]) { dir in
            let url = dir.appendingPathComponent(PackageLayout.record)
            try Data(String(decoding: try Data(contentsOf: url), as: UTF8.self).replacingOccurrences(of: "liver", with: "spleen").utf8).write(to: url)
        }
        // A wrong base: the pinned sha256 is not the installed base's.
        try refused("wrong-base", ["base", "sha256"]) { dir in
            var m = try ZooPackage.read(dir).manifest
            m.base?.sha256 = String(repeating: "ab", count: 32)
            try m.encoded().write(to: dir.appendingPathComponent(PackageLayout.manifest))
        }
        // Signatures: a manifest changed after signing is refused under any policy; unsigned and unknown keys under strict.
        let keys = try ZooFixtures.temporaryDirectory(self, "keys")
        let trusted = SigningKey(name: "lab"), stranger = SigningKey(name: "stranger")
        try refused("bad-signature", ["signature.json", "does not verify"]) { dir in
            try ManifestSignature.sign(package: dir, key: trusted)
            var m = try ZooPackage.read(dir).manifest
            m.description = "edited after signing"
            try m.encoded().write(to: dir.appendingPathComponent(PackageLayout.manifest))
        }
        try refused("unsigned-strict", ["strict", "unsigned"], strict: true) { _ in }
        try refused("stranger-strict", ["strict", "unknown key"], strict: true) { try ManifestSignature.sign(package: $0, key: stranger) }
        try trusted.write(to: keys.appendingPathComponent("lab.key"))
        _ = try registry.trust(try TrustedKey.read(keys.appendingPathComponent("lab.key.pub")))
        let trustedBefore = try ZooFixtures.snapshot(registry.root)
        XCTAssertEqual(try SigningKey.read(keys.appendingPathComponent("lab.key")).publicKey, trusted.publicKey)
        let attrs = try FileManager.default.attributesOfItem(atPath: keys.appendingPathComponent("lab.key").path)
        XCTAssertEqual((attrs[.posixPermissions] as? NSNumber)?.intValue, 0o600)

        // Signed by the trusted key: installs under the strict policy, and the index says who signed.
        let signed = try ZooFixtures.copy(good, to: "signed")
        try ManifestSignature.sign(package: signed, key: trusted)
        XCTAssertNotEqual(try ZooFixtures.snapshot(registry.root), before)
        XCTAssertEqual(try ZooFixtures.snapshot(registry.root), trustedBefore)
        try registry.install(from: signed, strict: true)
        XCTAssertEqual(try registry.list().first { $0.id == "test/ssm-small-liver" }?.signature, "trusted:lab")
    }

    func testSkippedNumbersAreRecorded() throws {
        let (dir, registry, base, modelURL) = try setUpRegistry()
        let out = dir.appendingPathComponent("pkg")
        try SSMSAMPublisher.publish(try request(base, model: modelURL), into: out, toolkitVersion: "test")
        try editHeadWeight(out)
        try ZooFixtures.resign(out)
        // Skipping the numbers is the user's choice, and the index keeps it; verify --numbers then fails.
        try registry.install(from: out, numbers: false)
        let ref = try ModelReference(parsing: "test/ssm-small-liver@1.0.0")
        XCTAssertEqual(try registry.list().first { $0.id == ref.id }?.numbersVerified, false)
        XCTAssertFalse(try registry.verify(ref, numbers: true).ok)
    }

    func testEvaluationMustBeOfTheseWeights() throws {
        let (dir, _, base, modelURL) = try setUpRegistry()
        var r = try request(base, model: modelURL)
        r.evaluation = .object(["organs": .object(["liver": .object(["dice": .number(0.5), "model_sha256": .string(String(repeating: "0", count: 64))])])])
        assertThrows(["--evaluation", "not this package's weights"]) { try SSMSAMPublisher.publish(r, into: dir.appendingPathComponent("p"), toolkitVersion: "test") }
    }

    /// `--model zoo:ID@VERSION` through the built CLI: adapt with an SSM-SAM package, segment with a SAM
    /// package, and a clear refusal when the family does not fit the command.
    func testZooReferencesWhereAModelIsAccepted() throws {
        let (dir, registry, base, modelURL) = try setUpRegistry()
        try SSMSAMPublisher.publish(try request(base, model: modelURL), into: dir.appendingPathComponent("pkg"), toolkitVersion: "test")
        try registry.install(from: dir.appendingPathComponent("pkg"))
        let (s, m, q) = try Self.golden()
        let files = ["s.png": s, "m.png": try Image8(width: s.width, height: s.height, channels: 1, pixels: m.map { $0 ? 255 : 0 }), "q.png": q]
        for (name, image) in files { try ImageIO.writePNG(image, to: dir.appendingPathComponent(name)) }
        func run(_ args: [String]) throws -> (code: Int32, out: String, err: String) {
            try SSMSAMProcess.run(args, near: Bundle(for: Self.self), environment: ["SSMSAM_ZOO": registry.root.path])
        }
        var r = try run(["adapt", "--model", "zoo:test/ssm-small-liver@1.0.0", "--support", dir.appendingPathComponent("s.png").path,
                         "--support-mask", dir.appendingPathComponent("m.png").path, "--query", dir.appendingPathComponent("q.png").path,
                         "--out", dir.appendingPathComponent("adapted").path])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssert(r.out.contains("learned rates, 2 steps"), r.out)
        XCTAssert(FileManager.default.fileExists(atPath: dir.appendingPathComponent("adapted/q_mask.png").path))
        r = try run(["segment", "--model", "zoo:\(ZooFixtures.baseID)@1.0.0", "--image", dir.appendingPathComponent("q.png").path,
                     "--point", "48,42", "--out", dir.appendingPathComponent("seg.png").path])
        XCTAssertEqual(r.code, 0, r.err)
        r = try run(["segment", "--model", "zoo:test/ssm-small-liver@1.0.0", "--image", dir.appendingPathComponent("q.png").path,
                     "--point", "48,42", "--out", dir.appendingPathComponent("seg2.png").path])
        XCTAssertNotEqual(r.code, 0)
        XCTAssert(r.err.contains("is an SSM-SAM package, not a SAM model"), r.err)
        r = try run(["adapt", "--model", "zoo:test/not-installed@1.0.0", "--support", "s", "--support-mask", "m", "--query", "q", "--out", "o"])
        XCTAssertNotEqual(r.code, 0)
        XCTAssert(r.err.contains("test/not-installed@1.0.0 is not installed"), r.err)
    }

    /// The publisher's workflow through the CLI: publish a model file with golden PNGs, keygen, sign, trust,
    /// install under --strict, verify --numbers --strict, list, export --pth.
    func testPublishSignTrustInstallThroughTheCLI() throws {
        let (dir, registry, _, modelURL) = try setUpRegistry()
        let (s, m, q) = try Self.golden()
        try ImageIO.writePNG(s, to: dir.appendingPathComponent("s.png"))
        try ImageIO.writePNG(try Image8(width: s.width, height: s.height, channels: 1, pixels: m.map { $0 ? 255 : 0 }), to: dir.appendingPathComponent("m.png"))
        try ImageIO.writePNG(q, to: dir.appendingPathComponent("q.png"))
        func run(_ args: [String]) throws -> (code: Int32, out: String, err: String) {
            try SSMSAMProcess.run(args, near: Bundle(for: Self.self), environment: ["SSMSAM_ZOO": registry.root.path])
        }
        let pkg = dir.appendingPathComponent("pkg").path, key = dir.appendingPathComponent("lab.key").path
        var r = try run(["zoo", "publish", modelURL.path, "--id", "test/ssm-cli", "--version", "1.0.0", "--base", "\(ZooFixtures.baseID)@1.0.0",
                         "--organ", "liver", "--support", dir.appendingPathComponent("s.png").path, "--support-mask", dir.appendingPathComponent("m.png").path,
                         "--query", dir.appendingPathComponent("q.png").path, "--out", pkg])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(try run(["zoo", "keygen", "--name", "lab", "--out", key]).code, 0)
        XCTAssertEqual(try run(["zoo", "sign", pkg, "--key", key]).code, 0)
        r = try run(["zoo", "install", pkg, "--strict"])
        XCTAssertNotEqual(r.code, 0)
        XCTAssert(r.err.contains("signature.json: refused under the strict signature policy: signed by an unknown key (lab"), r.err)
        XCTAssertEqual(try run(["zoo", "trust", key + ".pub"]).code, 0)
        r = try run(["zoo", "install", pkg, "--strict"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssert(r.out.contains("signature: trusted:lab; golden numbers reproduced"), r.out)
        r = try run(["zoo", "verify", "test/ssm-cli@1.0.0", "--numbers", "--strict"])
        XCTAssertEqual(r.code, 0, r.out + r.err)
        XCTAssert(r.out.contains("ok    numbers: golden 1-shot adaptation reproduced"), r.out)
        r = try run(["zoo", "list"])
        XCTAssert(r.out.split(separator: "\n").contains { $0.hasPrefix("test/ssm-cli@1.0.0") && $0.contains("trusted:lab") && $0.contains("verified") }, r.out)
        r = try run(["zoo", "list", "--json"])
        let listed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: String]])
        XCTAssertEqual(listed.first { $0["entry"] == "test/ssm-cli@1.0.0" }?["signature"], "trusted:lab")
        r = try run(["zoo", "verify", "test/ssm-cli@1.0.0", "--json", "--strict"])
        let verified = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        XCTAssertEqual(verified["ok"] as? Bool, true)
        XCTAssertEqual(verified["signature"] as? String, "trusted:lab")
        let pth = dir.appendingPathComponent("twin.pth").path
        r = try run(["zoo", "export", "test/ssm-cli@1.0.0", "--pth", pth])
        XCTAssertEqual(r.code, 0, r.err)
        for f in [pth, dir.appendingPathComponent("twin.json").path, dir.appendingPathComponent("twin.lslr.pth").path] {
            XCTAssert(FileManager.default.fileExists(atPath: f), f)
        }
        let hf = dir.appendingPathComponent("hf").path
        XCTAssertEqual(try run(["zoo", "export", "test/ssm-cli@1.0.0", "--hf", hf]).code, 0)
        let exported = try MetaModelFile.load(URL(fileURLWithPath: hf + "/model.safetensors"))
        let installed = try XCTUnwrap(try registry.load(try ModelReference(parsing: "test/ssm-cli@1.0.0")) as? MetaInitialisation)
        XCTAssertEqual(exported.model.stateDict(), installed.model.stateDict())
        XCTAssertEqual(exported.rates?.stateDict(), installed.rates?.stateDict())
    }

    func testResidualCodecRoundTripAndBadInput() throws {
        var rng = SeededGenerator(seed: 3)
        let initial = Tensor(shape: [3, 5], data: (0..<15).map { _ in rng.nextUnitFloat() })
        var moved = initial.data
        for k in moved.indices { moved[k] += 1e-3 * Float(k % 7 - 3) }
        let trained = Tensor(shape: [3, 5], data: moved)
        var i = StateDict(), t = StateDict()
        (i["w"], t["w"], t["rates"]) = (StoredTensor(initial), StoredTensor(trained), StoredTensor(Tensor(shape: [2], data: [1, 2])))
        let (stored, error) = try ResidualCodec.encode(t, on: i)
        XCTAssertEqual(stored["w"]?.dtype, .u8)
        XCTAssertEqual(stored["w"]?.shape, [8])
        XCTAssertEqual(stored["rates"], t["rates"])
        let decoded = try ResidualCodec.decode(stored, on: i, file: "w.safetensors")
        let worst = zip(decoded["w"]!.floatTensor.data, trained.data).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(worst, error + 1e-9)
        XCTAssertLessThanOrEqual(error, 3e-3 / 7 / 2 * 1.001)  // half a step of the widest row
        var bad = stored
        bad["w"] = StoredTensor(dtype: .u8, shape: [7], bytes: Data(count: 7))
        assertThrows(["w.safetensors", "U8 [8]"]) { _ = try ResidualCodec.decode(bad, on: i, file: "w.safetensors") }
        bad = stored
        bad["w"] = StoredTensor(dtype: .u8, shape: [8], bytes: Data(count: 8))
        assertThrows(["outside 1...15"]) { _ = try ResidualCodec.decode(bad, on: i, file: "w.safetensors") }
    }
}

/// Scales the residuals of the heads' last convolution by 3 (a changed head weight), rewriting the weight file.
private func editHeadWeight(_ dir: URL) throws {
    let url = dir.appendingPathComponent(PackageLayout.weights)
    var (dict, _) = try SafeTensors.read(url)
    let name = "fmad.fuse.conv2.weight" + ResidualCodec.scaleSuffix
    var t = try XCTUnwrap(dict[name]).floatTensor
    for i in t.data.indices { t.data[i] *= 3 }
    dict[name] = StoredTensor(t)
    try SafeTensors.write(dict, to: url)
}

private func flipLastByte(_ url: URL) throws {
    var d = try Data(contentsOf: url)
    d[d.count - 1] ^= 0x40
    try d.write(to: url)
}
