import Diagnostics
import FileIO
import Formats
import Foundation
import NN
import SAM
import TensorCore

/// SSM-SAM models on disk: `M.safetensors` holding every tensor (the frozen base under its official names and
/// the heads under the twin's names) with the `SSMSAMConfig` JSON in its metadata (`ssmsam_config`) and beside
/// it as `M.json`; or `M.pth` (PyTorch zip, the same names) for the PyTorch twin, with the JSON beside it.
public enum SSMSAMStore {
    static let metadataKey = "ssmsam_config"

    /// Writes the model atomically: the weight file first, then the JSON beside it (the weight file alone
    /// is complete: it carries the config too).
    public static func save(_ model: SSMSAMModel, to url: URL) throws {
        let json = String(decoding: try encoder.encode(model.config), as: UTF8.self)
        let dict = model.stateDict()
        switch url.pathExtension {
        case "safetensors": try SafeTensors.write(dict, metadata: [metadataKey: json], to: url)
        case "pth": try TorchZipWriter.write(dict, to: url)
        default:
            throw ToolkitError(.unsupported, subject: url.path, "SSM-SAM models are written as .safetensors or .pth, not .\(url.pathExtension)")
        }
        try AtomicFile.write(Data(json.utf8), to: SAMModelStore.configURL(for: url))
    }

    /// Reads a model written by `save` (or by the twin): strict binding of every tensor.
    public static func load(_ url: URL) throws -> SSMSAMModel {
        let checkpoint = try CheckpointReader.read(url)
        let config: SSMSAMConfig
        if let json = checkpoint.metadata[metadataKey] {
            config = try decode(Data(json.utf8), file: url.path)
        } else {
            let beside = SAMModelStore.configURL(for: url)
            guard let data = try? Data(contentsOf: beside) else {
                throw ToolkitError(.missingFile, subject: url.path, "no SSM-SAM config inside it and no \(beside.lastPathComponent) beside it")
            }
            config = try decode(data, file: beside.path)
        }
        let model = SSMSAMModel(config: config)
        try model.load(checkpoint.tensors, file: url.path)
        model.freeze([SSMSAMModel.basePrefix])
        return model
    }

    private static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }

    private static func decode(_ data: Data, file: String) throws -> SSMSAMConfig {
        do { return try JSONDecoder().decode(SSMSAMConfig.self, from: data) } catch {
            throw ToolkitError(.invalidFile, subject: file, "not an SSM-SAM config: \(error)")
        }
    }
}
