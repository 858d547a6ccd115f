import Diagnostics
import Foundation
import Formats
import Imaging
import SAM
import TensorCore

/// What `PackageBuilder` makes a package from.
public struct PackageRequest {
    public var checkpoint: URL
    /// Dot path to the state dict inside a nested PyTorch checkpoint.
    public var key: String?
    public var id: String
    public var version: String
    public var license = "other"
    /// The architecture; nil means the JSON config beside the checkpoint, else the base's, else detected from shapes.
    public var config: SAMConfig?
    /// For a delta: the installed base package.
    public var base: ZooPackage?
    public var description: String?
    public var organ: String?
    public var modality: String?
    public var dataset: String?
    public var protocolSettings: JSONValue?
    public var metrics: JSONValue?
    /// Where the original checkpoint can be obtained (recorded in the manifest and the card).
    public var sourceURL: String?
    public var prompts = GoldenInput.prompts

    public init(checkpoint: URL, id: String, version: String) { (self.checkpoint, self.id, self.version) = (checkpoint, id, version) }
}

/// Builds a package folder from a checkpoint: weights (whole, or a delta on a base), golden outputs
/// computed by running the model on the built-in golden input, the model card and the manifest.
public enum PackageBuilder {
    /// Writes the package into `directory` (created; it must not exist or be empty) and returns its manifest.
    /// Every file is written to a temporary name and renamed; the manifest comes last.
    @discardableResult
    public static func build(_ r: PackageRequest, into directory: URL, toolkitVersion: String, created: Date = Date()) throws -> Manifest {
        if let why = ModelReference.problem(id: r.id) { throw ToolkitError(.invalidArgument, "--id '\(r.id)': \(why)") }
        guard SemanticVersion(r.version) != nil else {
            throw ToolkitError(.invalidArgument, "--version '\(r.version)' is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.0.0)")
        }
        let fm = FileManager.default
        if let existing = try? fm.contentsOfDirectory(atPath: directory.path), !existing.isEmpty {
            throw ToolkitError(.invalidArgument, subject: directory.path, "already exists and is not empty")
        }
        try fm.createDirectory(at: directory.appendingPathComponent("golden"), withIntermediateDirectories: true)

        // An ONNX export gets SAM's official names back from its graph; one holds either SAM's encoder or its decoder.
        let checkpoint: (tensors: StateDict, format: String)
        if try SAMModelStore.isONNX(r.checkpoint, key: r.key) {
            let onnx = try SAMONNXImport.read(r.checkpoint)
            guard onnx.hasEncoder && onnx.hasDecoder else {
                throw ToolkitError(.mismatch, subject: r.checkpoint.path, "an ONNX export holds only part of SAM; make one checkpoint of both exports first: "
                    + "ssmsam convert ENCODER.onnx sam.safetensors --decoder DECODER.onnx, then zoo add sam.safetensors")
            }
            checkpoint = (onnx.weights, CheckpointFormat.onnx.rawValue)
        } else {
            let c = try CheckpointReader.read(r.checkpoint, key: r.key)
            checkpoint = (c.tensors, c.format.rawValue)
        }
        let sourceDigest = try FileDigest.sha256(of: r.checkpoint)
        let config = try r.config ?? SAMModelStore.config(for: r.checkpoint) ?? r.base?.manifest.architecture
            ?? SAMConfig.detect(from: checkpoint.tensors, file: r.checkpoint.path)
        // Packages hold official names, whatever the checkpoint used (Hugging Face SamModel names are renamed).
        let tensors = HuggingFaceNames.toOfficial(checkpoint.tensors)

        var stored = tensors, full = tensors
        var baseRef: Manifest.BaseReference? = nil
        var replaces: Int? = nil, adds: Int? = nil
        if let base = r.base {
            let baseWeights = base.url(base.manifest.weights.path)
            let digest = try FileDigest.sha256(of: baseWeights)
            if let listed = base.manifest.file(base.manifest.weights.path)?.sha256, listed != digest.hex {
                throw ToolkitError(.verificationFailed, subject: baseWeights.path, "sha256 \(digest.hex), its manifest says \(listed): the base is damaged")
            }
            let baseDict = try base.storedWeights()
            let d = DeltaWeights.delta(of: tensors, on: baseDict)
            guard d.delta.count > 0 else {
                throw ToolkitError(.invalidArgument, subject: r.checkpoint.path, "every tensor equals the base \(base.manifest.reference): nothing to publish as a delta")
            }
            (stored, replaces, adds) = (d.delta, d.replaces, d.adds)
            full = DeltaWeights.apply(d.delta, to: baseDict)
            baseRef = .init(id: base.manifest.id, version: base.manifest.version, sha256: digest.hex)
        }
        let model = try SAMModel(full, file: r.checkpoint.path, config: config)

        let image = GoldenInput.image()
        let problems = r.prompts.problems(imageWidth: image.width, imageHeight: image.height)
        guard problems.isEmpty else { throw ToolkitError(.invalidArgument, subject: PackageLayout.goldenPrompts, problems.joined(separator: "; ")) }
        let out = try GoldenRunner.run(model: model, image: image, prompts: r.prompts)

        // No id or version inside the weights: their sha256 then names the tensors alone, so a base pinned
        // by a delta stays recognisable whatever it is called.
        try SafeTensors.write(stored, to: directory.appendingPathComponent(PackageLayout.weights))
        try ImageIO.writePNG(image, to: directory.appendingPathComponent(PackageLayout.goldenImage))
        try AtomicFile.write(try prettyJSON(r.prompts), to: directory.appendingPathComponent(PackageLayout.goldenPrompts))
        var outputs = StateDict()
        outputs[GoldenPrompts.logitsName] = StoredTensor(out.lowResLogits)
        outputs[GoldenPrompts.iouName] = StoredTensor(out.iou)
        try SafeTensors.write(outputs, to: directory.appendingPathComponent(PackageLayout.goldenOutputs))

        var m = Manifest(id: r.id, version: r.version, kind: baseRef == nil ? .base : .delta, base: baseRef, architecture: config,
                         license: r.license, toolkit: .init(version: toolkitVersion),
                         created: ISO8601DateFormatter().string(from: created),
                         weights: .init(path: PackageLayout.weights, tensors: stored.count, parameters: stored.parameterCount,
                                        replaces: replaces, adds: adds))
        (m.description, m.organ, m.modality, m.dataset) = (r.description, r.organ, r.modality, r.dataset)
        (m.protocolSettings, m.metrics) = (r.protocolSettings, r.metrics)
        m.source = .init(file: r.checkpoint.lastPathComponent, format: checkpoint.format, sha256: sourceDigest.hex,
                         size: sourceDigest.size, key: r.key, url: r.sourceURL)
        try AtomicFile.write(Data(ModelCard.markdown(m).utf8), to: directory.appendingPathComponent(PackageLayout.card))
        m.files = try fileEntries(in: directory, paths: [PackageLayout.weights, PackageLayout.card] + ManifestSchema.requiredFiles.filter { $0 != PackageLayout.card })
        let problemsInManifest = ManifestSchema.problems(m)
        guard problemsInManifest.isEmpty else { throw ToolkitError(.invalidArgument, subject: PackageLayout.manifest, problemsInManifest.joined(separator: "; ")) }
        try AtomicFile.write(try m.encoded(), to: directory.appendingPathComponent(PackageLayout.manifest))
        return m
    }

    /// Size and SHA-256 of each listed file, sorted by path.
    public static func fileEntries(in directory: URL, paths: [String]) throws -> [Manifest.FileEntry] {
        try Set(paths).sorted().map { path in
            let d = try FileDigest.sha256(of: directory.appendingPathComponent(path))
            return Manifest.FileEntry(path: path, size: d.size, sha256: d.hex)
        }
    }

    static func prettyJSON<T: Encodable>(_ value: T) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var d = try e.encode(value)
        d.append(UInt8(ascii: "\n"))
        return d
    }
}
