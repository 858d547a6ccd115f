import Formats
import Foundation
import SSMSAM

/// A meta-trained model on disk: the SSM-SAM model file (`SSMSAMStore`: base, heads, config) with its
/// learned inner rates beside the model's tensors as `lslr.<parameter name>` of shape [S].
public enum MetaModelFile {
    /// Writes the model and its rates atomically (`.safetensors`, or `.pth` for the twin).
    public static func save(_ model: SSMSAMModel, rates: LearnedStepRates, to url: URL) throws {
        try SSMSAMStore.save(model, extra: rates.stateDict(), to: url)
    }

    /// Reads a model and its rates; `rates` is nil for a plain SSM-SAM model file (no `lslr.*` tensors).
    public static func load(_ url: URL) throws -> (model: SSMSAMModel, rates: LearnedStepRates?) {
        let (model, extra) = try SSMSAMStore.load(url, extraPrefix: LearnedStepRates.prefix)
        return (model, try rates(extra, of: model, file: url.path))
    }

    /// A model and its rates from tensors held elsewhere (a zoo package): `lslr.*` are the rates, every
    /// other tensor is bound strictly.
    public static func model(_ tensors: StateDict, config: SSMSAMConfig, file: String) throws -> (model: SSMSAMModel, rates: LearnedStepRates?) {
        var own = StateDict(), extra = StateDict()
        for (name, t) in tensors.entries {
            if name.hasPrefix(LearnedStepRates.prefix) { extra[name] = t } else { own[name] = t }
        }
        let model = try SSMSAMStore.model(own, config: config, file: file)
        return (model, try rates(extra, of: model, file: file))
    }

    private static func rates(_ extra: StateDict, of model: SSMSAMModel, file: String) throws -> LearnedStepRates? {
        guard extra.count > 0 else { return nil }
        return try LearnedStepRates(stateDict: extra, parameterNames: model.trainableParameters().map(\.name), file: file)
    }
}
