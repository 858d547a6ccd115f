import Diagnostics
import Formats
import Foundation
import NN
import SSMSAM
import TensorCore

/// Everything a meta-training run needs to resume exactly: θ (the trainable parameters), the learned rates,
/// AdamW's moments and step counts, the epochs completed, the losses so far, and the settings.
///
/// The random state is the seed (in `config`) and the epoch: every epoch's episodes are drawn from a stream
/// derived from those two only (`MetaLearner.generator`), so no generator state crosses an epoch boundary
/// and resuming after epoch e draws what the uninterrupted run draws.
///
/// On disk (`write(to:)`, atomic: temporary file + rename) a safetensors file: `theta.<name>`, `lslr.<name>`,
/// `adam.m.<name>` and `adam.v.<name>` (float32; `<name>` a trainable tensor or a rate tensor `lslr.<name>`),
/// and the metadata `format` = `ssmsam-fewshot-state`, `version`, `state` (JSON: epoch, settings, SSM-SAM
/// config, AdamW step counts, history). Equal states give equal bytes.
public struct TrainingState: Equatable {
    public static let format = "ssmsam-fewshot-state", version = "1"
    public var config: MetaLearnerConfig
    public var modelConfig: SSMSAMConfig
    /// Epochs completed.
    public var epoch: Int
    /// θ by name.
    public var parameters: ParameterSnapshot
    /// The rates by tensor name (`lslr.<name>`, shape [S]).
    public var rates: [String: Tensor]
    /// AdamW's state by name of the parameter (trainable tensor or rate tensor); absent before its first step.
    public var moments: [String: AdamWMoments]
    public var history: [EpochRecord]

    public init(config: MetaLearnerConfig, modelConfig: SSMSAMConfig, epoch: Int, parameters: ParameterSnapshot,
                rates: [String: Tensor], moments: [String: AdamWMoments], history: [EpochRecord]) {
        (self.config, self.modelConfig, self.epoch, self.parameters) = (config, modelConfig, epoch, parameters)
        (self.rates, self.moments, self.history) = (rates, moments, history)
    }

    /// The JSON part of the file.
    struct Header: Codable {
        var epoch: Int
        var config: MetaLearnerConfig
        var modelConfig: SSMSAMConfig
        var adamSteps: [String: Int]
        var history: [EpochRecord]
        enum CodingKeys: String, CodingKey {
            case epoch, config, history
            case modelConfig = "model_config", adamSteps = "adam_steps"
        }
    }

    /// The state as file bytes (deterministic: names sorted, JSON keys sorted).
    public func serialized() throws -> Data {
        let (dict, meta) = try contents()
        return try SafeTensors.serialize(dict, metadata: meta)
    }

    /// Writes the state atomically (temporary file in the same folder, then rename).
    public func write(to url: URL) throws {
        let (dict, meta) = try contents()
        try SafeTensors.write(dict, metadata: meta, to: url)
    }

    private func contents() throws -> (StateDict, [String: String]) {
        var dict = StateDict()
        for (n, t) in parameters.values.sorted(by: { $0.key < $1.key }) { dict["theta.\(n)"] = StoredTensor(t) }
        for (n, t) in rates.sorted(by: { $0.key < $1.key }) { dict[n] = StoredTensor(t) }
        for (n, m) in moments.sorted(by: { $0.key < $1.key }) {
            dict["adam.m.\(n)"] = StoredTensor(Tensor(shape: [m.m.count], data: m.m))
            dict["adam.v.\(n)"] = StoredTensor(Tensor(shape: [m.v.count], data: m.v))
        }
        let header = Header(epoch: epoch, config: config, modelConfig: modelConfig,
                            adamSteps: moments.mapValues(\.step), history: history)
        let json = String(decoding: try Self.encoder.encode(header), as: UTF8.self)
        return (dict, ["format": Self.format, "version": Self.version, "state": json])
    }

    /// Reads a state written by `write(to:)`; anything else is an error naming the file and what is wrong.
    public static func read(_ url: URL) throws -> TrainingState {
        let (dict, meta) = try SafeTensors.read(url)
        let file = url.path
        guard meta["format"] == format else {
            throw ToolkitError(.invalidFile, subject: file, "not a few-shot training state (metadata format is \(meta["format"].map { "'\($0)'" } ?? "missing"))")
        }
        guard meta["version"] == version else {
            throw ToolkitError(.unsupported, subject: file, "training state version \(meta["version"] ?? "?"), this toolkit reads \(version)")
        }
        let header: Header
        do { header = try decoder.decode(Header.self, from: Data((meta["state"] ?? "").utf8)) } catch {
            throw ToolkitError(.invalidFile, subject: file, "the training state's JSON cannot be read: \(error)")
        }
        var parameters: [String: Tensor] = [:], rates: [String: Tensor] = [:], m: [String: [Float]] = [:], v: [String: [Float]] = [:]
        for (name, t) in dict.entries {
            guard t.dtype == .f32 else { throw ToolkitError(.invalidFile, subject: file, "\(name) is \(t.dtype), expected float32") }
            if name.hasPrefix("theta.") { parameters[String(name.dropFirst(6))] = t.floatTensor }
            else if name.hasPrefix(LearnedStepRates.prefix) { rates[name] = t.floatTensor }
            else if name.hasPrefix("adam.m.") { m[String(name.dropFirst(7))] = t.floatTensor.data }
            else if name.hasPrefix("adam.v.") { v[String(name.dropFirst(7))] = t.floatTensor.data }
            else { throw ToolkitError(.invalidFile, subject: file, "unexpected tensor \(name) in a training state") }
        }
        var moments: [String: AdamWMoments] = [:]
        for (name, step) in header.adamSteps {
            guard let mm = m[name], let vv = v[name], mm.count == vv.count else {
                throw ToolkitError(.invalidFile, subject: file, "AdamW moments of \(name) are missing or of different sizes")
            }
            moments[name] = AdamWMoments(m: mm, v: vv, step: step)
        }
        guard Set(m.keys) == Set(header.adamSteps.keys), Set(v.keys) == Set(header.adamSteps.keys) else {
            throw ToolkitError(.invalidFile, subject: file, "AdamW moments without a step count")
        }
        return TrainingState(config: header.config, modelConfig: header.modelConfig, epoch: header.epoch,
                             parameters: ParameterSnapshot(values: parameters), rates: rates, moments: moments, history: header.history)
    }

    private static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    private static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }
}
