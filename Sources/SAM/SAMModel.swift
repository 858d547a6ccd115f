import Diagnostics
import Foundation
import Formats
import NN
import TensorCore

/// A whole Segment Anything Model: image encoder, prompt encoder and mask decoder, as a module tree
/// whose dotted names are the official checkpoint names.
public struct SAMModel: Module {
    public static let checkpointKeys = ["imageEncoder": "image_encoder", "promptEncoder": "prompt_encoder", "maskDecoder": "mask_decoder"]
    public let config: SAMConfig
    public let imageEncoder: any SAMImageEncoder
    public let promptEncoder: PromptEncoder
    public let maskDecoder: MaskDecoder
    /// bf16 copies of the weights when the model runs in bf16 (`inPrecision(.bf16)`); nil in fp32.
    public private(set) var bf16Weights: BF16Weights?

    /// The arithmetic of the model's products on its weights.
    public var precision: GEMMPrecision { bf16Weights == nil ? .fp32 : .bf16 }

    /// The model of a configuration with placeholder values (load a checkpoint or call `initialize`);
    /// every parameter requires a gradient, as in a freshly built PyTorch module.
    public init(config c: SAMConfig) {
        config = c
        imageEncoder = Self.imageEncoder(config: c)
        promptEncoder = PromptEncoder(config: c)
        maskDecoder = MaskDecoder(config: c.decoder)
    }

    /// The image encoder of a configuration (ViT or TinyViT), with placeholder values.
    public static func imageEncoder(config c: SAMConfig) -> any SAMImageEncoder {
        switch c.kind {
        case .vit:
            return ImageEncoderViT(config: c.encoder)
        case .tinyViT:
            return ImageEncoderTinyViT(config: c.tinyViT ?? SAMConfig.TinyViTEncoder(), imageSize: c.encoder.imageSize,
                                       outChannels: c.encoder.outChannels)
        }
    }

    /// Builds the model and binds every tensor from `checkpoint` by its official name (strictly: one error
    /// lists all missing, unexpected and misshaped tensors). The configuration is detected from the shapes
    /// when not given. Hugging Face `SamModel` names are accepted too (`HuggingFaceNames`). The parameters
    /// are frozen unless `trainable`. The configuration is checked first (`SAMConfig.problems`), so a bad
    /// one is an error naming `file`, never a failed precondition.
    public init(_ checkpoint: StateDict, file: String, config: SAMConfig? = nil, trainable: Bool = false) throws {
        let dict = HuggingFaceNames.toOfficial(checkpoint)
        let config = try config ?? SAMConfig.detect(from: checkpoint, file: file)
        try config.check(file: file)
        self.init(config: config)
        try load(dict, file: file)
        if !trainable { freeze() }
    }

    /// The same model with its weight products in `precision`. For bf16 the weights (every matrix and
    /// convolution kernel) are converted once, here; throws, with the reason, on a CPU or installation
    /// that cannot run bf16 (`GEMMPrecision.unsupportedReason`).
    public func inPrecision(_ precision: GEMMPrecision) throws -> SAMModel {
        var m = self
        switch precision {
        case .fp32: m.bf16Weights = nil
        case .bf16:
            if bf16Weights == nil { m.bf16Weights = try convertedToBF16() }
        }
        return m
    }

    /// Runs `body` in the model's precision.
    public func inModelPrecision<T>(_ body: () throws -> T) rethrows -> T {
        try ReducedPrecision.with(bf16Weights, body)
    }

    /// Image embedding of a preprocessed (1, 3, S, S) input, without recording a graph.
    public func encode(_ input: Tensor, taps: [Int] = []) -> (embedding: Tensor, taps: [Tensor]) {
        inModelPrecision { imageEncoder.encode(input, taps: taps) }
    }

    /// Low-res logits (1, K, 4H, 4W) and IoU (1, K) for one prompt set on an image embedding.
    public func predict(embedding: Tensor, points: [PromptPoint], box: PromptBox? = nil, maskInput: Tensor? = nil,
                        multimask: Bool) -> (lowResLogits: Tensor, iou: Tensor) {
        inModelPrecision { Variable.noGrad {
            let (sparse, dense) = promptEncoder(points: points, box: box, mask: maskInput.map { Variable($0) })
            let r = maskDecoder(embedding: Variable(embedding), densePE: Variable(promptEncoder.densePositionalEncoding()),
                                sparse: sparse, dense: dense, multimask: multimask)
            return (r.masks.value, r.iou.value)
        } }
    }
}
