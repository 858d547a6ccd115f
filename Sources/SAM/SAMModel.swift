import Foundation
import Formats
import TensorCore

/// A whole Segment Anything Model bound to checkpoint weights.
public struct SAMModel {
    public let config: SAMConfig
    public let imageEncoder: any SAMImageEncoder
    public let promptEncoder: PromptEncoder
    public let maskDecoder: MaskDecoder

    /// Builds the model and binds every parameter from `dict` by its official name; throws one error
    /// listing all missing, unexpected and misshaped tensors. The configuration is detected from the
    /// shapes when not given.
    /// Hugging Face `SamModel` names are accepted too (`HuggingFaceNames`).
    public init(_ checkpoint: StateDict, file: String, config: SAMConfig? = nil, trainable: Bool = false) throws {
        let dict = HuggingFaceNames.toOfficial(checkpoint)
        let c = try config ?? SAMConfig.detect(from: dict, file: file)
        let binder = WeightBinder(dict, file: file, trainable: trainable)
        self.config = c
        imageEncoder = SAMModel.makeImageEncoder(binder, config: c)
        promptEncoder = PromptEncoder(binder, config: c)
        maskDecoder = MaskDecoder(binder, config: c.decoder)
        try binder.finish()
    }

    /// The image encoder the configuration names.
    static func makeImageEncoder(_ binder: WeightBinder, config c: SAMConfig) -> any SAMImageEncoder {
        switch c.kind {
        case .vit:
            return ImageEncoderViT(binder, config: c.encoder)
        case .tinyViT:
            return ImageEncoderTinyViT(binder, config: c.tinyViT ?? SAMConfig.TinyViTEncoder(), imageSize: c.encoder.imageSize,
                                       outChannels: c.encoder.outChannels)
        }
    }

    /// Image embedding of a preprocessed (1, 3, S, S) input, without recording a graph.
    public func encode(_ input: Tensor, taps: [Int] = []) -> (embedding: Tensor, taps: [Tensor]) {
        Variable.noGrad {
            let r = imageEncoder(Variable(input), taps: taps)
            return (r.embedding.value, r.taps.map(\.value))
        }
    }

    /// Low-res logits (1, K, 4H, 4W) and IoU (1, K) for one prompt set on an image embedding.
    public func predict(embedding: Tensor, points: [PromptPoint], box: PromptBox? = nil, maskInput: Tensor? = nil,
                        multimask: Bool) -> (lowResLogits: Tensor, iou: Tensor) {
        Variable.noGrad {
            let (sparse, dense) = promptEncoder(points: points, box: box, mask: maskInput.map { Variable($0) })
            let r = maskDecoder(embedding: Variable(embedding), densePE: Variable(promptEncoder.densePositionalEncoding()),
                                sparse: sparse, dense: dense, multimask: multimask)
            return (r.masks.value, r.iou.value)
        }
    }
}
