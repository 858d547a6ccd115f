import SSMSAM
import TensorCore

/// What the model needs of one slice to compute its four feature levels: the frozen encoder features on the
/// cheap path (no adapters: computed once, cached, only the heads train), or the preprocessed image and its
/// high-pass feature when adapters make every level depend on trainable parameters.
public enum SliceFeatures {
    /// `SSMSAMModel.frozenFeatures` of the slice (the cheap path).
    case frozen([Tensor])
    /// The preprocessed image (1, 3, S, S) and its high-pass feature (computed once: it has no parameters).
    case image(Tensor, highPass: Tensor)

    /// The features of a preprocessed image (1, 3, S, S) for `model`: frozen features when the model has no
    /// adapters (through `cache` when given), else the image and its high-pass feature.
    public static func of(_ image: Tensor, model: SSMSAMModel, cache: FeatureCache? = nil) throws -> SliceFeatures {
        guard model.adapter == nil else { return .image(image, highPass: image.highPassFiltered()) }
        return .frozen(try cache?.features(for: image) { model.frozenFeatures(image) } ?? model.frozenFeatures(image))
    }

    /// The four levels at the model's current parameters (a graph to the trainable ones).
    public func levels(_ model: SSMSAMModel) -> [Variable] {
        switch self {
        case let .frozen(features): return model.levels(fromFrozen: features.map { Variable($0) })
        case let .image(image, highPass): return model.featureLevels(image, highPass: highPass)
        }
    }
}
