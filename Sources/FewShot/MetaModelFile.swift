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
        guard extra.count > 0 else { return (model, nil) }
        let rates = try LearnedStepRates(stateDict: extra, parameterNames: model.trainableParameters().map(\.name), file: url.path)
        return (model, rates)
    }
}
