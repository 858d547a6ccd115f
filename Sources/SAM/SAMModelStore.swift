import Diagnostics
import Foundation
import Formats

/// Where models live and how a model reference (a name or a path) becomes a `SAMModel`.
///
/// The native format is `NAME.safetensors` with the architecture in `NAME.json` beside it. Names are
/// looked up in the models directory: `$SSMSAM_MODELS`, else `~/.cache/ssmsam/models`.
public enum SAMModelStore {
    /// The models directory.
    public static var directory: URL {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["SSMSAM_MODELS"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return URL(fileURLWithPath: env["HOME"] ?? NSHomeDirectory()).appendingPathComponent(".cache/ssmsam/models")
    }

    /// The config file that accompanies a weight file: same path, extension `.json`.
    public static func configURL(for weights: URL) -> URL { weights.deletingPathExtension().appendingPathExtension("json") }

    /// Resolves a reference: an existing path, or the name of a model in the models directory.
    public static func resolve(_ reference: String) throws -> URL {
        let url = URL(fileURLWithPath: reference)
        if FileManager.default.fileExists(atPath: url.path) { return url }
        if !reference.contains("/") {
            let named = directory.appendingPathComponent("\(reference).safetensors")
            if FileManager.default.fileExists(atPath: named.path) { return named }
            let known = (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?
                .filter { $0.hasSuffix(".safetensors") }.map { String($0.dropLast(12)) }.sorted() ?? []
            throw ToolkitError(.missingFile, subject: reference, "no such file, and no model of that name in \(directory.path)"
                + (known.isEmpty ? " (it holds none; scripts/setup installs mobile_sam)" : " (it holds: \(known.joined(separator: ", ")))"))
        }
        throw ToolkitError(.missingFile, subject: reference, "no such file")
    }

    /// Loads a model from a reference. The architecture comes from `preset` when given, else from the
    /// config that accompanies the weights (`config(for:)`), else from the checkpoint's shapes.
    /// `decoder` names a second checkpoint whose prompt encoder and mask decoder replace the first one's
    /// (an ONNX export of SamOnnxModel beside an image-encoder export, say).
    public static func load(_ reference: String, preset: String? = nil, key: String? = nil, decoder: String? = nil,
                            trainable: Bool = false) throws -> SAMModel {
        let url = try resolve(reference)
        let (dict, unmatched) = try weights(url, key: key, decoder: try decoder.map(resolve))
        let names = Set(dict.names.map { String($0.prefix { $0 != "." }) })
        if names == ["image_encoder"] {
            throw ToolkitError(.mismatch, subject: url.path, "holds the image encoder only (no prompt_encoder.* or mask_decoder.* weights): "
                + "give those with --decoder FILE (e.g. an ONNX export of SamOnnxModel); encode runs with the encoder alone")
        }
        if !names.isEmpty, names.isSubset(of: ["prompt_encoder", "mask_decoder"]) { throw decoderOnly(url) }
        let config = try architecture(url, preset: preset)
        if let preset, let c = config, let found = try? SAMConfig.detect(from: dict, file: url.path), found.encoder != c.encoder || found.kind != c.kind {
            let e = found.encoder
            throw ToolkitError(.mismatch, subject: url.path, "--preset \(preset) does not fit these weights: they are a \(found.preset ?? found.kind.rawValue) encoder "
                + (found.kind == .vit ? "(embed \(e.embedDim), depth \(e.depth), \(e.imageSize) px input, patch \(e.patchSize))" : "") + "; leave --preset out to use the detected architecture")
        }
        do {
            return try SAMModel(dict, file: url.path, config: config, trainable: trainable)
        } catch let e as ToolkitError where !unmatched.isEmpty {
            throw ToolkitError(e.kind, subject: e.subject, e.message + "\n  ONNX tensors not recovered \(unmatched.count): " + unmatched.prefix(10).joined(separator: ", "))
        }
    }

    /// Loads only the image encoder of a reference (what `encode` needs): a full checkpoint or an export of
    /// the image encoder alone. The architecture as in `load`, else from the `image_encoder.*` shapes.
    public static func loadImageEncoder(_ reference: String, preset: String? = nil, key: String? = nil) throws -> any SAMImageEncoder {
        let url = try resolve(reference)
        let dict = HuggingFaceNames.toOfficial(try weights(url, key: key).dict)
        if !dict.names.isEmpty, !dict.names.contains(where: { $0.hasPrefix("image_encoder.") }), dict.names.allSatisfy(isDecoderName) { throw decoderOnly(url) }
        let config = try architecture(url, preset: preset) ?? SAMConfig.detectEncoder(from: dict, file: url.path)
        try config.check(file: url.path)
        let encoder = SAMModel.imageEncoder(config: config)
        try encoder.load(dict, file: url.path, prefix: SAMModel.checkpointKeys["imageEncoder"]!)
        _ = encoder.freeze()
        return encoder
    }

    /// The tensors of a checkpoint: an ONNX export through `SAMONNXImport` (official names, with the tensors
    /// it could not place), anything else as `CheckpointReader` reads it (Hugging Face names kept).
    public static func weights(_ url: URL, key: String?) throws -> (dict: StateDict, unmatched: [String]) {
        if try isONNX(url, key: key) {
            let r = try SAMONNXImport.read(url)
            return (r.weights, r.unmatched)
        }
        return (try CheckpointReader.read(url, key: key).tensors, [])
    }

    /// Whether `url` is an ONNX file (read through `SAMONNXImport`, not `CheckpointReader`); `--key`, which
    /// only a nested PyTorch checkpoint has, is refused for one.
    public static func isONNX(_ url: URL, key: String?) throws -> Bool {
        guard url.pathExtension.lowercased() == "onnx", !HuggingFaceFolder.isFolder(url) else { return false }
        if key != nil { throw ToolkitError(.invalidArgument, subject: url.path, "--key applies to PyTorch checkpoints; this is onnx") }
        return true
    }

    /// The tensors of `url` as `weights(_:key:)` reads them; with `decoder`, its prompt encoder and mask decoder
    /// replace the first file's (official names then), e.g. an image-encoder ONNX export and SamOnnxModel's.
    public static func weights(_ url: URL, key: String?, decoder: URL?) throws -> (dict: StateDict, unmatched: [String]) {
        let (dict, unmatched) = try weights(url, key: key)
        guard let decoder else { return (dict, unmatched) }
        let (parts, more) = try weights(decoder, key: nil)
        let decoderParts = HuggingFaceNames.toOfficial(parts).entries.filter { isDecoderName($0.name) }
        guard !decoderParts.isEmpty else {
            throw ToolkitError(.mismatch, subject: decoder.path, "no prompt_encoder.* or mask_decoder.* weights (expected an ONNX export of SamOnnxModel or a SAM checkpoint); found \(parts.count) tensors" + examples(parts.names))
        }
        var merged = StateDict()
        for (name, t) in HuggingFaceNames.toOfficial(dict).entries where !isDecoderName(name) { merged[name] = t }
        for (name, t) in decoderParts { merged[name] = t }
        return (merged, unmatched + more)
    }

    /// The architecture given by `preset`, else the config beside the checkpoint, else nil (detect from shapes).
    static func architecture(_ url: URL, preset: String?) throws -> SAMConfig? {
        guard let preset else { return try config(for: url) }
        guard let p = SAMConfig.preset(preset) else {
            throw ToolkitError(.invalidArgument, subject: url.path, "unknown preset '\(preset)' (known: \(SAMConfig.presetNames.joined(separator: ", ")))")
        }
        return p
    }

    /// The error for a prompt encoder + mask decoder given where a whole model or an encoder is expected.
    static func decoderOnly(_ url: URL) -> ToolkitError {
        ToolkitError(.mismatch, subject: url.path, "holds the prompt encoder and mask decoder only (no image_encoder.* weights): "
            + "give it as --decoder, with the image encoder as --model (e.g. an ONNX export of sam.image_encoder)")
    }

    static func isDecoderName(_ name: String) -> Bool { name.hasPrefix("prompt_encoder.") || name.hasPrefix("mask_decoder.") }

    /// ": a, b, c, ..." for at most ten names ("" for none).
    static func examples(_ names: [String]) -> String {
        names.isEmpty ? "" : ": " + names.prefix(10).joined(separator: ", ") + (names.count > 10 ? ", ... (\(names.count - 10) more)" : "")
    }

    /// The marker of the toolkit's config files (`"format"`); files written before it existed have none.
    public static let configFormat = "ssmsam-sam-config/1"

    /// The architecture that accompanies a checkpoint, if any: for a Hugging Face folder its `config.json` (a
    /// transformers `SamConfig`, or the toolkit's own); for `X.safetensors` (or any weight file) `X.json` beside
    /// it; for a weight file of a Hugging Face folder (`HF/model.safetensors`, a shard) the folder's `config.json`.
    public static func config(for checkpoint: URL) throws -> SAMConfig? {
        let fm = FileManager.default
        if HuggingFaceFolder.isFolder(checkpoint) {
            let url = checkpoint.appendingPathComponent(HuggingFaceFolder.config)
            return fm.fileExists(atPath: url.path) ? try readConfig(url) : nil
        }
        let beside = configURL(for: checkpoint)
        if fm.fileExists(atPath: beside.path) { return try readConfig(beside) }
        if HuggingFaceFolder.isWeightFile(checkpoint) {
            return try readConfig(checkpoint.deletingLastPathComponent().appendingPathComponent(HuggingFaceFolder.config))
        }
        return nil
    }

    /// Reads an architecture file and checks it (`SAMConfig.problems`): the toolkit's JSON config (with or
    /// without its `format` marker), or a transformers `SamConfig` (`model_type` "sam").
    public static func readConfig(_ url: URL) throws -> SAMConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ToolkitError(.missingFile, subject: url.path, "cannot read: \(error.localizedDescription)")
        }
        if HuggingFaceConfig.isSAM(data) { return try HuggingFaceConfig.read(data, file: url.path).samConfig(file: url.path) }
        if let format = marker(data), format != configFormat {
            throw ToolkitError(.unsupported, subject: url.path, "format '\(format)', expected '\(configFormat)' (the toolkit's SAM config) or a transformers SamConfig")
        }
        let config: SAMConfig
        do { config = try JSONDecoder().decode(SAMConfig.self, from: data) } catch {
            throw ToolkitError(.invalidFile, subject: url.path, "not a SAM config: \(error)")
        }
        try config.check(file: url.path)
        return config
    }

    /// Whether `url` is a config file the toolkit wrote: its `format` marker, or (files from before the
    /// marker) no marker and the toolkit's config fields. Anything else is someone else's file.
    public static func isToolkitConfig(_ url: URL) -> Bool {
        guard let data = try? Data(contentsOf: url) else { return false }
        if let format = marker(data) { return format == configFormat }
        return !HuggingFaceConfig.isSAM(data) && (try? JSONDecoder().decode(SAMConfig.self, from: data)) != nil
    }

    /// The `format` string of a JSON object, if it has one.
    static func marker(_ data: Data) -> String? {
        struct Probe: Decodable { let format: String? }
        return (try? JSONDecoder().decode(Probe.self, from: data))?.format
    }

    /// The config JSON with its `format` marker among the config's own keys.
    public struct Marked: Encodable {
        public let config: SAMConfig
        enum Key: String, CodingKey { case format }
        public init(config: SAMConfig) { self.config = config }
        public func encode(to encoder: any Encoder) throws {
            try config.encode(to: encoder)
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(SAMModelStore.configFormat, forKey: .format)
        }
    }

    /// The config file's bytes (pretty, sorted keys, with the `format` marker).
    public static func configData(_ config: SAMConfig) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(Marked(config: config))
    }

    /// Writes a JSON architecture file atomically, with the `format` marker.
    public static func writeConfig(_ config: SAMConfig, to url: URL) throws {
        try AtomicFile.write(try configData(config), to: url)
    }
}
