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
    public static func load(_ reference: String, preset: String? = nil, key: String? = nil, trainable: Bool = false) throws -> SAMModel {
        let url = try resolve(reference)
        let checkpoint = try CheckpointReader.read(url, key: key)
        var config: SAMConfig? = nil
        if let preset {
            guard let p = SAMConfig.preset(preset) else {
                throw ToolkitError(.invalidArgument, subject: url.path, "unknown preset '\(preset)' (known: \(SAMConfig.presetNames.joined(separator: ", ")))")
            }
            config = p
        } else {
            config = try self.config(for: url)
        }
        return try SAMModel(checkpoint.tensors, file: url.path, config: config, trainable: trainable)
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
