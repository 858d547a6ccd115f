import Diagnostics
import TensorCore

extension ToolkitError.Kind {
    /// `SAMPredictor.predict` before any `setImage`: there is no image embedding to prompt.
    public static let noImage = ToolkitError.Kind(rawValue: "noImage")
}

/// SAM on one image at a time, as segment_anything's `SamPredictor`: `setImage` preprocesses the image and
/// keeps its embedding, then any number of `predict` calls take prompts in the image's own pixels and
/// return masks at its resolution. Each step is the toolkit's one implementation: `SAMPreprocessing`
/// (resize, normalise, pad; the prompt transform), `SAMModel` (encoder, prompt encoder, mask decoder) and
/// `SAMPostprocessing` (masks back to the image's size, the best-mask pick).
public struct SAMPredictor {
    public let model: SAMModel
    public let preprocessing: SAMPreprocessing
    /// The image embedding (1, C, grid, grid) of the image set; nil before `setImage`.
    public private(set) var embedding: Tensor?
    /// The image's (height, width); (0, 0) before `setImage`.
    public private(set) var originalSize: (height: Int, width: Int) = (0, 0)
    /// The image's size once its longest side is resized to the model's input (segment_anything's `input_size`).
    public private(set) var inputSize: (height: Int, width: Int) = (0, 0)
    /// How errors about the image and its prompts name it (a file path, say).
    public private(set) var imageName = "image"

    public init(model: SAMModel) {
        self.model = model
        preprocessing = SAMPreprocessing(modelSize: model.imageEncoder.inputSize)
    }

    /// Preprocesses an 8-bit RGB image (height x width x 3, row-major, as `SAMPreprocessing.modelInput`
    /// takes it) and computes its embedding, replacing any earlier image (which is gone even when this
    /// throws). `name` names the image in errors.
    public mutating func setImage(rgb: [UInt8], width: Int, height: Int, name: String = "image") throws {
        (embedding, originalSize, inputSize, imageName) = (nil, (0, 0), (0, 0), "image")
        let (input, resized) = try preprocessing.modelInput(rgb: rgb, width: width, height: height)
        embedding = model.encode(input).embedding
        (originalSize, inputSize, imageName) = ((height, width), resized, name)
    }

    /// Sets an image whose embedding (1, C, grid, grid) is already computed (for instance by an encoder pass
    /// shared with another model on the same base), for an image of `width` x `height`.
    public mutating func setImage(embedding: Tensor, width: Int, height: Int, name: String = "image") throws {
        let g = model.promptEncoder.gridSize
        guard embedding.shape.count == 4, embedding.shape[0] == 1, embedding.shape[2] == g, embedding.shape[3] == g else {
            throw ToolkitError(.mismatch, subject: name, "an image embedding must be 1 x C x \(g) x \(g), got \(embedding.shape)")
        }
        self.embedding = embedding
        (originalSize, inputSize, imageName) = ((height, width), preprocessing.resizedSize(height: height, width: width), name)
    }

    /// Masks for one prompt set in the image's pixels: points (label 1 foreground, 0 background), a box
    /// (x0, y0, x1, y1), and `maskInput`, low-res logits (1, 1, 4 grid, 4 grid) such as an earlier
    /// prediction's. Three masks when `multimask`, else one. Throws a `ToolkitError`: `.noImage` before
    /// `setImage`, `.invalidArgument` for a label other than 0 or 1 or a point or box corner outside the
    /// image, `.mismatch` for a mask input of another shape.
    public func predict(points: [PromptPoint] = [], box: PromptBox? = nil, maskInput: Tensor? = nil,
                        multimask: Bool = true) throws -> SAMPrediction {
        guard let embedding else {
            throw ToolkitError(.noImage, subject: "SAMPredictor", "predict needs an image: call setImage first")
        }
        let (h, w) = originalSize
        try Self.checkPrompts(points: points, box: box, width: w, height: h, name: imageName)
        if let m = maskInput {
            let side = 4 * model.promptEncoder.gridSize
            guard m.shape == [1, 1, side, side] else {
                throw ToolkitError(.mismatch, subject: imageName, "mask input must be 1 x 1 x \(side) x \(side) low-res logits, got \(m.shape)")
            }
        }
        let (low, iou) = model.predict(
            embedding: embedding,
            points: points.map { preprocessing.transform($0, originalHeight: h, originalWidth: w) },
            box: box.map { preprocessing.transform($0, originalHeight: h, originalWidth: w) },
            maskInput: maskInput, multimask: multimask)
        let masks = SAMPostprocessing.masks(low, modelSize: preprocessing.modelSize, inputSize: inputSize, originalSize: (h, w))
        return SAMPrediction(masks: masks, lowResLogits: low, iou: iou, best: SAMPostprocessing.bestMaskIndex(iou))
    }

    /// Throws the error `predict` gives for these prompts on a `width` x `height` image, if any: for callers
    /// that check prompts before paying for `setImage`.
    public static func checkPrompts(points: [PromptPoint], box: PromptBox?, width: Int, height: Int, name: String = "image") throws {
        func inside(_ x: Float, _ y: Float, _ what: String) throws {
            guard x >= 0, y >= 0, x < Float(width), y < Float(height) else {
                throw ToolkitError(.invalidArgument, subject: name, "\(what) (\(x), \(y)) is outside the \(width) x \(height) image")
            }
        }
        for p in points {
            guard (-1...1).contains(p.label) else {
                throw ToolkitError(.invalidArgument, subject: name, "point (\(p.x), \(p.y)) has label \(p.label), expected 1 (foreground), 0 (background) or -1 (padding: not a point)")
            }
            // A padding point's position is never read (SAM embeds it as "not a point").
            if p.label != -1 { try inside(p.x, p.y, "point") }
        }
        if let box {
            try inside(box.x0, box.y0, "box corner")
            try inside(box.x1, box.y1, "box corner")
            guard box.x0 <= box.x1, box.y0 <= box.y1 else {
                throw ToolkitError(.invalidArgument, subject: name, "box (\(box.x0), \(box.y0), \(box.x1), \(box.y1)) is inverted: expected X0 <= X1 and Y0 <= Y1 (top-left corner first)")
            }
        }
    }
}

/// What `SAMPredictor.predict` returns: K masks (3 with multimask, else 1) at the image's resolution and
/// at the decoder's, with their predicted IoU.
public struct SAMPrediction {
    /// Mask logits at the image's size (1, K, height, width) (`postprocess_masks`); a pixel is in mask k
    /// where its logit is above 0.
    public let masks: Tensor
    /// The decoder's logits (1, K, 4 grid, 4 grid): a `maskInput` for a next prediction.
    public let lowResLogits: Tensor
    /// Predicted IoU of each mask (1, K).
    public let iou: Tensor
    /// The mask SAM's predictor picks: the highest predicted IoU.
    public let best: Int

    /// Mask k as booleans, row-major at the image's size.
    public func mask(_ k: Int) -> [Bool] {
        masks.narrow(axis: 1, start: k, length: 1).data.map { $0 > 0 }
    }
}
