import Diagnostics
import NN
import TensorCore

/// The toolkit's side of a SAM parity bundle: the bundle's image and prompts through the toolkit's SAM
/// pipeline, every stage the reference recorded (`scripts/record_reference.py` names them), each computed
/// from the toolkit's own earlier stages.
public enum SAMParityStages {
    /// The stage names of a SAM bundle, in pipeline order (`encoder.block.N` for any tapped block N).
    public static let names = ["image", "preprocess.input", "encoder.block.N", "encoder.embedding", "prompt.sparse",
                               "prompt.dense", "decoder.low_res_logits", "decoder.iou", "postprocess.masks"]

    /// The outputs of `model` for the stages of `bundle` (a `.sam` bundle), on an 8-bit RGB image (height x
    /// width x 3, row-major): the bundle's input image as the caller decoded it. Throws for a stage the toolkit
    /// does not compute, a tapped block the encoder does not have, or prompts outside the image.
    public static func outputs(model: SAMModel, bundle: ParityBundle, rgb: [UInt8], width: Int, height: Int) throws -> [String: Tensor] {
        let manifestPath = bundle.directory.appendingPathComponent("manifest.json").path
        guard bundle.manifest.kind == .sam else {
            throw ToolkitError(.mismatch, subject: manifestPath, "a \(bundle.manifest.kind.rawValue) bundle, not a SAM one")
        }
        guard let prompts = bundle.manifest.prompts else {
            throw ToolkitError(.invalidFile, subject: manifestPath, "a SAM bundle needs prompts")
        }
        let blocks = try tappedBlocks(bundle, model: model, manifestPath: manifestPath)
        let points = try prompts.points.map { p -> PromptPoint in
            guard p.count == 3 else { throw ToolkitError(.invalidFile, subject: manifestPath, "prompt point \(p): expected [x, y, label]") }
            return PromptPoint(x: p[0], y: p[1], label: Int(p[2]))
        }
        var box: PromptBox?
        if let b = prompts.box {
            guard b.count == 4 else { throw ToolkitError(.invalidFile, subject: manifestPath, "prompt box \(b): expected [x0, y0, x1, y1]") }
            box = PromptBox(x0: b[0], y0: b[1], x1: b[2], y1: b[3])
        }
        try SAMPredictor.checkPrompts(points: points, box: box, width: width, height: height, name: manifestPath)

        var out: [String: Tensor] = ["image": Tensor(shape: [height, width, 3], data: rgb.map(Float.init))]
        let pre = SAMPreprocessing(modelSize: model.imageEncoder.inputSize)
        let (input, resized) = try pre.modelInput(rgb: rgb, width: width, height: height)
        out["preprocess.input"] = input
        let encoded = model.encode(input, taps: blocks)
        for (n, t) in zip(blocks, encoded.taps) { out["encoder.block.\(n)"] = t }
        out["encoder.embedding"] = encoded.embedding
        let (sparse, dense, low, iou) = Variable.noGrad { () -> (Tensor, Tensor, Tensor, Tensor) in
            let (s, d) = model.promptEncoder(points: points.map { pre.transform($0, originalHeight: height, originalWidth: width) },
                                             box: box.map { pre.transform($0, originalHeight: height, originalWidth: width) }, mask: nil)
            let r = model.maskDecoder(embedding: Variable(encoded.embedding), densePE: Variable(model.promptEncoder.densePositionalEncoding()),
                                      sparse: s, dense: d, multimask: prompts.multimask)
            return (s.value, d.value, r.masks.value, r.iou.value)
        }
        (out["prompt.sparse"], out["prompt.dense"], out["decoder.low_res_logits"], out["decoder.iou"]) = (sparse, dense, low, iou)
        out["postprocess.masks"] = SAMPostprocessing.masks(low, modelSize: pre.modelSize, inputSize: resized, originalSize: (height, width))
        return out
    }

    /// The block numbers of the bundle's `encoder.block.N` stages; throws for any other unknown stage name.
    private static func tappedBlocks(_ bundle: ParityBundle, model: SAMModel, manifestPath: String) throws -> [Int] {
        let count: Int
        switch model.imageEncoder {
        case let tiny as ImageEncoderTinyViT: count = tiny.blockCount
        default: count = model.config.encoder.depth
        }
        var blocks: [Int] = []
        for stage in bundle.manifest.stages.map(\.name) where !names.contains(stage) {
            guard stage.hasPrefix("encoder.block."), let n = Int(stage.dropFirst("encoder.block.".count)) else {
                throw ToolkitError(.unsupported, subject: manifestPath,
                                   "stage \(stage) is not one the toolkit computes for SAM (known: \(names.joined(separator: ", ")))")
            }
            guard n >= 0 && n < count else {
                throw ToolkitError(.mismatch, subject: manifestPath, "stage \(stage): the model's encoder has blocks 0..<\(count)")
            }
            blocks.append(n)
        }
        return blocks
    }
}
