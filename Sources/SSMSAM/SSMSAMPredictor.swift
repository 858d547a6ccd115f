import Diagnostics
import NN
import SAM
import TensorCore

/// One-shot SSM-SAM prediction on 8-bit RGB slices: a labelled support slice, a query slice, the query's
/// mask at its own size. The support mask gives the prompt points and FMAD's prior; the query's label is
/// never an input.
public struct SSMSAMPredictor {
    public let model: SSMSAMModel
    public let preprocessing: SAMPreprocessing
    /// Cache of frozen features on the cheap path (no adapters); nil computes them every time.
    public var cache: FeatureCache?
    /// The seed of the support-mask point picker.
    public var pointSeed: UInt64 = 0

    public init(model: SSMSAMModel, cache: FeatureCache? = nil) {
        self.model = model
        self.cache = cache
        preprocessing = SAMPreprocessing(modelSize: model.config.base.encoder.imageSize)
    }

    /// An RGB image's preprocessed input and resized size.
    public func input(rgb: [UInt8], width: Int, height: Int) throws -> (input: Tensor, resized: (height: Int, width: Int)) {
        try preprocessing.modelInput(rgb: rgb, width: width, height: height)
    }

    /// A binary mask of an image's pixels (row-major, `width` x `height`) in the model's input frame
    /// (1, 1, S, S): `SAMPreprocessing.framedMask`, after checking its pixel count.
    public func frameMask(_ mask: [Bool], width: Int, height: Int, name: String = "mask") throws -> Tensor {
        guard mask.count == width * height, width > 0, height > 0 else {
            throw ToolkitError(.mismatch, subject: name, "mask has \(mask.count) pixels, expected \(width) x \(height)")
        }
        return preprocessing.framedMask(mask, width: width, height: height)
    }

    /// The four levels of a preprocessed input (from the cache on the cheap path).
    public func levels(_ input: Tensor) throws -> [Variable] {
        if model.adapter != nil { return model.featureLevels(input) }
        let frozen = try cache?.features(for: input) { model.frozenFeatures(input) } ?? model.frozenFeatures(input)
        return model.levels(fromFrozen: frozen.map { Variable($0) })
    }

    /// The query's mask logits at its original size (1, 1, H, W) and the points used, without a graph.
    public func predict(support: (rgb: [UInt8], width: Int, height: Int), supportMask: [Bool],
                        query: (rgb: [UInt8], width: Int, height: Int)) throws -> (logits: Tensor, points: [SamplerPoint]) {
        let s = try input(rgb: support.rgb, width: support.width, height: support.height)
        let q = try input(rgb: query.rgb, width: query.width, height: query.height)
        let mask = try frameMask(supportMask, width: support.width, height: support.height, name: "support mask")
        guard mask.data.contains(where: { $0 > 0 }) else {
            throw ToolkitError(.invalidArgument, subject: "support mask", "is empty: one labelled pixel at least is needed")
        }
        let c = model.config
        let points = PointPicker(positives: c.positivePoints, negatives: c.negativePoints, bandWidth: 2 * preprocessing.modelSize / model.grid)
            .pick(mask: mask, valid: s.resized, seed: pointSeed)
        let low = try Variable.noGrad { () throws -> Tensor in
            model.logits(query: try levels(q.input), support: try levels(s.input), supportMask: mask, points: points).value
        }
        let full = SAMPostprocessing.masks(low, modelSize: preprocessing.modelSize, inputSize: q.resized,
                                           originalSize: (query.height, query.width))
        return (full, points)
    }
}
