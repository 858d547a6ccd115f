import Diagnostics
import FewShot
import FileIO
import Foundation
import Formats
import Imaging
import SAM
import SSMSAM
import TensorCore

/// What `SSMSAMPublisher` makes an SSM-SAM package from: a meta-trained model (heads + learned rates), the SAM
/// base package it was trained on, its run's record, and the golden support, mask and query.
public struct PublishRequest {
    /// How the heads are stored.
    public enum Encoding: Equatable {
        /// As trained (f32): the package is the model, bit for bit.
        case f32
        /// Half precision.
        case f16
        /// 4-bit residuals on the heads' initialisation from `seed` (`ResidualCodec`): about an eighth of f32.
        case q4Residual(seed: UInt64)

        /// The name `record.json` gives it.
        public var name: String {
            switch self { case .f32: return "f32"; case .f16: return "f16"; case .q4Residual: return ResidualCodec.encoding }
        }
    }

    public var model: URL
    public var base: ZooPackage
    public var id: String
    public var version: String
    public var license = "other"
    public var description: String?
    public var organ: String?
    public var modality: String?
    public var dataset: String?
    public var encoding = Encoding.f32
    /// The run's record (`run.json` of `meta-train`, or the twin's): kept whole in `record.json`.
    public var training: JSONValue?
    /// An evaluation of exactly these weights (`eval`'s `record.json`, the package's weights file as its model
    /// checksum): its Dice become the package's metrics.
    public var evaluation: JSONValue?
    public var support: Image8
    public var supportMask: [Bool]
    public var query: Image8
    public var golden: AdaptationGolden

    public init(model: URL, base: ZooPackage, id: String, version: String, support: Image8, supportMask: [Bool], query: Image8,
                golden: AdaptationGolden) {
        (self.model, self.base, self.id, self.version) = (model, base, id, version)
        (self.support, self.supportMask, self.query, self.golden) = (support, supportMask, query, golden)
    }
}

/// Publishes a meta-initialisation as an SSM-SAM package: the heads and learned rates as a delta on the SAM
/// base (pinned by id@version and sha256), the run's record, a model card with Hugging Face front matter,
/// and the golden 1-shot adaptation computed from the weights as stored (so install reproduces it).
public enum SSMSAMPublisher {
    /// Writes the package into `directory` (new or empty); files are written atomically, the manifest last.
    /// Returns the manifest and the largest weight error the encoding made (0 for f32).
    @discardableResult
    public static func publish(_ r: PublishRequest, into directory: URL, toolkitVersion: String, created: Date = Date()) throws -> (manifest: Manifest, encodingError: Float) {
        if let why = ModelReference.problem(id: r.id) { throw ToolkitError(.invalidArgument, "--id '\(r.id)': \(why)") }
        guard SemanticVersion(r.version) != nil else { throw ToolkitError(.invalidArgument, "--version '\(r.version)' is not a semantic version (MAJOR.MINOR.PATCH)") }
        guard r.base.manifest.family == .sam else {
            throw ToolkitError(.invalidArgument, subject: r.base.manifest.reference, "the base of an SSM-SAM package must be a SAM package, this one is \(r.base.manifest.family.rawValue)")
        }
        guard r.golden.problems.isEmpty else { throw ToolkitError(.invalidArgument, subject: AdaptationGolden.file, r.golden.problems.joined(separator: "; ")) }
        let fm = FileManager.default
        if let existing = try? fm.contentsOfDirectory(atPath: directory.path), !existing.isEmpty {
            throw ToolkitError(.invalidArgument, subject: directory.path, "already exists and is not empty")
        }
        try fm.createDirectory(at: directory.appendingPathComponent("golden"), withIntermediateDirectories: true)

        // The trained model and the base it must sit on: the same architecture, the same image encoder.
        let (trained, rates) = try MetaModelFile.load(r.model)
        var config = trained.config
        // A twin-written .pth names no preset (its base is detected from the weights' shapes): the base's name it is.
        if config.base.preset == nil { config.base.preset = r.base.manifest.architecture.preset }
        guard config.base == r.base.manifest.architecture else {
            throw ToolkitError(.mismatch, subject: r.model.path, "its base architecture is not \(r.base.manifest.reference)'s")
        }
        let baseWeightsURL = r.base.url(r.base.manifest.weights.path)
        let baseDigest = try FileDigest.sha256(of: baseWeightsURL)
        let baseDict = try r.base.fullWeights(base: nil)
        var full = trained.stateDict()
        if let rates { for (n, t) in rates.stateDict().entries { full[n] = t } }
        let d = DeltaWeights.delta(of: full, on: baseDict)
        guard d.replaces == 0 else {
            let changed = d.delta.names.filter { baseDict[$0] != nil }
            throw ToolkitError(.mismatch, subject: r.model.path, "\(changed.count) tensors differ from the base \(r.base.manifest.reference) (e.g. \(changed.first ?? "")): "
                               + "an SSM-SAM package keeps its base frozen; was it trained on another base?")
        }

        var stored = StateDict(), encodingError: Float = 0, initialisation: Manifest.Initialisation? = nil
        switch r.encoding {
        case .f32: stored = d.delta
        case .f16:
            for (n, t) in d.delta.entries {
                let half = StoredTensor(t.floatTensor, as: .f16)
                encodingError = max(encodingError, zip(half.floatTensor.data, t.floatTensor.data).map { abs($0 - $1) }.max() ?? 0)
                stored[n] = HeadInitialisation.isHead(n) ? half : t
            }
        case .q4Residual(let seed):
            let initial = try HeadInitialisation.tensors(config: config, seed: seed)
            (stored, encodingError) = try ResidualCodec.encode(d.delta, on: initial)
            initialisation = .init(seed: seed, sha256: HeadInitialisation.digest(initial))
        }

        var m = Manifest(id: r.id, version: r.version, kind: .delta,
                         base: .init(id: r.base.manifest.id, version: r.base.manifest.version, sha256: baseDigest.hex),
                         architecture: config.base, license: r.license, toolkit: .init(version: toolkitVersion),
                         created: ISO8601DateFormatter().string(from: created),
                         weights: .init(path: PackageLayout.weights, tensors: d.delta.count, parameters: d.delta.parameterCount, replaces: 0, adds: d.delta.count))
        m.schema = Manifest.familySchema
        (m.familyName, m.ssmSAM) = (.ssmSAM, config)
        (m.weights.encoding, m.weights.initialisation) = (initialisation == nil ? nil : ResidualCodec.encoding, initialisation)
        (m.description, m.organ, m.modality, m.dataset) = (r.description, r.organ, r.modality, r.dataset)
        let sourceDigest = try FileDigest.sha256(of: r.model)
        m.source = .init(file: r.model.lastPathComponent, format: r.model.pathExtension, sha256: sourceDigest.hex, size: sourceDigest.size)

        try SafeTensors.write(stored, to: directory.appendingPathComponent(PackageLayout.weights))
        let weightsDigest = try FileDigest.sha256(of: directory.appendingPathComponent(PackageLayout.weights)).hex
        (m.protocolSettings, m.metrics) = try summary(training: r.training, evaluation: r.evaluation, weightsSHA256: weightsDigest, organ: r.organ)

        // The golden inputs, then the outputs of the model as the package stores it.
        try ImageIO.writePNG(r.support, to: directory.appendingPathComponent(AdaptationGolden.supportImage))
        try ImageIO.writePNG(try Image8(width: r.support.width, height: r.support.height, channels: 1, pixels: r.supportMask.map { $0 ? 255 : 0 }),
                             to: directory.appendingPathComponent(AdaptationGolden.supportMask))
        try ImageIO.writePNG(r.query, to: directory.appendingPathComponent(AdaptationGolden.queryImage))
        try AtomicFile.write(try PackageBuilder.prettyJSON(r.golden), to: directory.appendingPathComponent(AdaptationGolden.file))
        let package = ZooPackage(directory: directory, manifest: m)
        let published = try MetaInitialisation(package: package, base: r.base)
        let result = try published.goldenOutputs(of: package)
        var outputs = StateDict()
        for (name, t) in result.outputs { outputs[name] = StoredTensor(t) }
        try SafeTensors.write(outputs, to: directory.appendingPathComponent(PackageLayout.goldenOutputs))

        var record: [String: JSONValue] = ["training": r.training ?? .null, "evaluation": r.evaluation ?? .null,
                                           "weights_encoding": .string(r.encoding.name),
                                           "weights_encoding_max_error": .number(Double(encodingError))]
        record["golden_source"] = r.golden.source.map { .string($0) } ?? .null
        try AtomicFile.write(try PackageBuilder.prettyJSON(JSONValue.object(record)), to: directory.appendingPathComponent(PackageLayout.record))
        try AtomicFile.write(Data(SSMSAMCard.markdown(m).utf8), to: directory.appendingPathComponent(PackageLayout.card))
        m.files = try PackageBuilder.fileEntries(in: directory, paths: [PackageLayout.weights] + ManifestSchema.requiredFiles(.ssmSAM))
        let problems = ManifestSchema.problems(m)
        guard problems.isEmpty else { throw ToolkitError(.invalidArgument, subject: PackageLayout.manifest, problems.joined(separator: "; ")) }
        try AtomicFile.write(try m.encoded(), to: directory.appendingPathComponent(PackageLayout.manifest))
        return (m, encodingError)
    }

    /// The manifest's protocol settings (from the training record) and metrics (from an evaluation of these
    /// very weights: its model checksum must be the package's weight file's).
    static func summary(training: JSONValue?, evaluation: JSONValue?, weightsSHA256: String, organ: String?) throws -> (JSONValue?, JSONValue?) {
        var proto: [String: JSONValue] = [:]
        if case .object(let t)? = training {
            for (from, to) in [("setting", "setting"), ("inner_steps", "steps"), ("chunks", "chunks"), ("seed", "seed"),
                               ("test_organ", "test_organ"), ("training_organs", "training_organs"), ("data", "data"),
                               ("meta_learning", "meta_learning"), ("epochs", "epochs")] {
                if let v = t[from] { proto[to] = v }
            }
        }
        guard case .object(let e)? = evaluation else { return (proto.isEmpty ? nil : .object(proto), nil) }
        guard case .object(let organs)? = e["organs"] else {
            throw ToolkitError(.invalidArgument, subject: "--evaluation", "not an evaluation record: no 'organs'")
        }
        var dice: [String: JSONValue] = [:], baselines: [String: JSONValue] = [:], byMethod: [String: JSONValue] = [:]
        for (name, value) in organs {
            guard case .object(let o) = value else { continue }
            guard case .string(let sha)? = o["model_sha256"], sha == weightsSHA256 else {
                throw ToolkitError(.mismatch, subject: "--evaluation", "organ \(name) was evaluated with a model whose sha256 is \(o["model_sha256"]?.text ?? "not recorded"), "
                                   + "not this package's weights (\(weightsSHA256)): evaluate zoo:ID@VERSION of this very package first")
            }
            if let d = o["dice"] { dice[name] = d }
            if let b = o["baselines"] { baselines[name] = b }
            if case .object(let methods)? = o["methods"] {
                byMethod[name] = .object(methods.compactMapValues { if case .object(let r) = $0 { return r["dice"] } else { return nil } })
            }
        }
        if let c = e["chunks"] { proto["chunks"] = c }
        if let s = e["support_source"] { proto["support"] = s }
        var metrics: [String: JSONValue] = ["dice": dice.count == 1 ? dice.values.first! : .object(dice)]
        if !baselines.isEmpty { metrics["zero_shot_baselines_dice"] = .object(baselines) }
        // Every row of the evaluation (e.g. the same entry fine-tuned instead of its learned rates).
        if !byMethod.isEmpty { metrics["dice_by_method"] = dice.count == 1 ? byMethod.values.first! : .object(byMethod) }
        if let p = e["primary_method"] { metrics["primary_method"] = p }
        return (.object(proto), .object(metrics))
    }
}
