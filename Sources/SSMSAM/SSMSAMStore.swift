import Diagnostics
import FileIO
import Formats
import Foundation
import NN
import SAM
import TensorCore

/// SSM-SAM models on disk: `M.safetensors` holding every tensor (the frozen base under its official names and
/// the heads under the twin's names) with the `SSMSAMConfig` JSON in its metadata (`ssmsam_config`) and beside
/// it as `M.json`; or `M.pth` (PyTorch zip, the same names) for the PyTorch twin, with the twin's own config
/// JSON beside it (flat, `scripts/ssmsam_twin/config.py`), so that the twin's `read_config` + `load_pth`
/// open the pair as they are, and the pair the twin writes back (`write_config` + `save_pth`) loads here.
public enum SSMSAMStore {
    static let metadataKey = "ssmsam_config"

    /// Writes the model atomically: the weight file first, then the JSON beside it (the weight file alone
    /// is complete: it carries the config too). `extra`: tensors stored alongside that are not the model's
    /// (e.g. a meta-learner's `lslr.*` rates); their names must not be the model's.
    public static func save(_ model: SSMSAMModel, extra: StateDict = StateDict(), to url: URL) throws {
        let json = String(decoding: try encoder.encode(model.config), as: UTF8.self)
        var dict = model.stateDict()
        for (name, t) in extra.entries {
            guard dict[name] == nil else {
                throw ToolkitError(.invalidArgument, subject: url.path, "extra tensor \(name) has the name of a model tensor")
            }
            dict[name] = t
        }
        let beside: Data
        switch url.pathExtension {
        case "safetensors":
            try SafeTensors.write(dict, metadata: [metadataKey: json], to: url)
            beside = Data(json.utf8)
        case "pth":
            try TorchZipWriter.write(dict, to: url)
            beside = try JSONSerialization.data(withJSONObject: model.config.twinDictionary, options: [.prettyPrinted, .sortedKeys])
        default:
            throw ToolkitError(.unsupported, subject: url.path, "SSM-SAM models are written as .safetensors or .pth, not .\(url.pathExtension)")
        }
        try AtomicFile.write(beside, to: SAMModelStore.configURL(for: url))
    }

    /// Prefixes of tensors that other layers save beside a model's (the few-shot meta-learner's learned inner
    /// rates, `lslr.*`): a plain load ignores them.
    public static let extraTensorPrefixes = ["lslr."]

    /// Reads a model written by `save` (or by the twin): strict binding of every tensor except the extras
    /// of `extraTensorPrefixes`, which are ignored.
    public static func load(_ url: URL) throws -> SSMSAMModel { try load(url, extraPrefix: nil).model }

    /// Reads a model and the extra tensors saved with it whose names start with `extraPrefix` (e.g. `lslr.`);
    /// every other tensor is bound strictly (those of `extraTensorPrefixes` are ignored).
    public static func load(_ url: URL, extraPrefix: String?) throws -> (model: SSMSAMModel, extra: StateDict) {
        let checkpoint = try CheckpointReader.read(url)
        var extra = StateDict(), tensors = StateDict()
        for (name, t) in checkpoint.tensors.entries {
            if let extraPrefix, name.hasPrefix(extraPrefix) { extra[name] = t }
            else if !extraTensorPrefixes.contains(where: name.hasPrefix) { tensors[name] = t }
        }
        let config: SSMSAMConfig
        if let json = checkpoint.metadata[metadataKey] {
            config = try decode(Data(json.utf8), file: url.path)
        } else {
            let beside = SAMModelStore.configURL(for: url)
            guard let data = try? Data(contentsOf: beside) else {
                throw ToolkitError(.missingFile, subject: url.path, "no SSM-SAM config inside it and no \(beside.lastPathComponent) beside it")
            }
            if let twin = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], twin["backbone"] != nil {
                // The twin's flat config: the base is not in it, its encoder is in the weights.
                var base = try SAMConfig.detectEncoder(from: checkpoint.tensors, file: url.path)
                if let size = twin["image_size"] as? NSNumber { base.encoder.imageSize = size.intValue }
                do { config = try SSMSAMConfig(twin: twin, base: base) } catch let e as ToolkitError {
                    throw ToolkitError(e.kind, subject: beside.path, e.message)
                }
            } else {
                config = try decode(data, file: beside.path)
            }
        }
        return (try model(tensors, config: config, file: url.path), extra)
    }

    /// A model of `config` bound strictly to `tensors` (every model tensor, nothing else), base frozen.
    public static func model(_ tensors: StateDict, config: SSMSAMConfig, file: String) throws -> SSMSAMModel {
        let model = SSMSAMModel(config: config)
        try model.load(tensors, file: file)
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
