import Diagnostics
import Foundation

/// A Hugging Face `save_pretrained` folder: `config.json` and the weights as `model.safetensors`, or sharded as
/// `model.safetensors.index.json` (`weight_map`: tensor name -> shard file) and `model-0000N-of-0000M.safetensors`
/// (older folders: `pytorch_model.bin`, or its `.index.json` and shards).
public enum HuggingFaceFolder {
    public static let config = "config.json"
    /// The single-file weights and the shard indexes, in the order they are looked for.
    static let single = ["model.safetensors", "pytorch_model.bin"]
    static let indexes = ["model.safetensors.index.json", "pytorch_model.bin.index.json"]

    struct Index: Decodable { let weight_map: [String: String] }

    /// Whether `url` is a folder.
    public static func isFolder(_ url: URL) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue
    }

    /// The weight files of the folder (shards in name order), or an error naming the folder.
    public static func weightFiles(in dir: URL) throws -> [URL] {
        try layout(of: dir).files
    }

    /// The weight files and, when sharded, the index (tensor name -> file name).
    static func layout(of dir: URL) throws -> (files: [URL], index: [String: String]?) {
        let fm = FileManager.default
        for (indexName, singleName) in zip(indexes, single) {
            let indexURL = dir.appendingPathComponent(indexName)
            if fm.fileExists(atPath: indexURL.path) {
                let map: [String: String]
                do { map = try JSONDecoder().decode(Index.self, from: Data(contentsOf: indexURL)).weight_map } catch {
                    throw ToolkitError(.invalidFile, subject: indexURL.path, "not a shard index (expected an object with \"weight_map\": {tensor: file}): \(error)")
                }
                let names = Set(map.values).sorted()
                guard !names.isEmpty else { throw ToolkitError(.invalidFile, subject: indexURL.path, "weight_map is empty") }
                for n in names where n.isEmpty || n.contains("/") || n.contains("\\") || n.hasPrefix(".") {
                    throw ToolkitError(.invalidFile, subject: indexURL.path, "shard '\(n)' is not a plain file name in the folder")
                }
                let files = names.map { dir.appendingPathComponent($0) }
                if let missing = files.first(where: { !fm.fileExists(atPath: $0.path) }) {
                    throw ToolkitError(.missingFile, subject: missing.path, "a shard named by \(indexName) is missing")
                }
                return (files, map)
            }
            let file = dir.appendingPathComponent(singleName)
            if fm.fileExists(atPath: file.path) { return ([file], nil) }
        }
        throw ToolkitError(.invalidFile, subject: dir.path, "a folder with no model.safetensors, model.safetensors.index.json or pytorch_model.bin: not a Hugging Face model folder")
    }

    /// Whether `file` is one of the weight files of a Hugging Face folder (its parent holds `config.json`).
    public static func isWeightFile(_ file: URL) -> Bool {
        let dir = file.deletingLastPathComponent()
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent(config).path),
              let files = try? weightFiles(in: dir) else { return false }
        return files.contains { $0.standardizedFileURL.path == file.standardizedFileURL.path }
    }

    /// Every tensor of the folder; with an index, each tensor must be in the shard it names, once.
    static func read(_ dir: URL, key: String?) throws -> Checkpoint {
        let (files, index) = try layout(of: dir)
        var merged = StateDict(), metadata: [String: String] = [:], format: CheckpointFormat = .safetensors
        var origin: [String: String] = [:]
        for file in files {
            let c = try CheckpointReader.read(file, key: key)
            format = c.format
            if metadata.isEmpty { metadata = c.metadata }
            for (name, tensor) in c.tensors.entries {
                if let first = origin[name] {
                    throw ToolkitError(.invalidFile, subject: file.path, "tensor '\(name)' is also in \(first)")
                }
                if let index, let listed = index[name], listed != file.lastPathComponent {
                    throw ToolkitError(.invalidFile, subject: file.path, "tensor '\(name)' is here, the index names \(listed)")
                }
                origin[name] = file.lastPathComponent
                merged[name] = tensor
            }
        }
        if let index, let name = index.keys.sorted().first(where: { origin[$0] == nil }) {
            throw ToolkitError(.invalidFile, subject: dir.appendingPathComponent(index[name]!).path, "has no tensor '\(name)', which the index places there")
        }
        return Checkpoint(format: format, tensors: merged, metadata: metadata)
    }
}
