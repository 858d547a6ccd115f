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
    /// JSON config beside the weights, else from the checkpoint's shapes.
    public static func load(_ reference: String, preset: String? = nil, key: String? = nil, trainable: Bool = false) throws -> SAMModel {
        let url = try resolve(reference)
        let checkpoint = try CheckpointReader.read(url, key: key)
        var config: SAMConfig? = nil
        if let preset {
            guard let p = SAMConfig.preset(preset) else {
                throw ToolkitError(.invalidArgument, subject: url.path, "unknown preset '\(preset)' (known: \(SAMConfig.presetNames.joined(separator: ", ")))")
            }
            config = p
        } else if FileManager.default.fileExists(atPath: configURL(for: url).path) {
            config = try readConfig(configURL(for: url))
        }
        return try SAMModel(checkpoint.tensors, file: url.path, config: config, trainable: trainable)
    }

    /// Reads a JSON architecture file and checks it (`SAMConfig.problems`).
    public static func readConfig(_ url: URL) throws -> SAMConfig {
        let config: SAMConfig
        do { config = try JSONDecoder().decode(SAMConfig.self, from: Data(contentsOf: url)) } catch {
            throw ToolkitError(.invalidFile, subject: url.path, "not a SAM config: \(error)")
        }
        try config.check(file: url.path)
        return config
    }

    /// Writes a JSON architecture file atomically.
    public static func writeConfig(_ config: SAMConfig, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(config), to: url)
    }
}
