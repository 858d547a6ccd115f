import ArgumentParser
import Foundation
import Imaging
import SAM
import TensorCore

/// `--model` and `--preset`, shared by the commands that run SAM.
struct ModelOptions: ParsableArguments {
    @Option(help: "A checkpoint (.pth, .onnx, .safetensors with its .json config) or a model name in the models directory (e.g. mobile_sam).")
    var model: String
    @Option(help: "Architecture preset (vit_b, vit_l, vit_h) when the checkpoint has no config beside it.")
    var preset: String?
    @Option(help: "Dot path to the state dict inside a nested PyTorch checkpoint.")
    var key: String?

    func load() throws -> SAMModel { try SAMModelStore.load(model, preset: preset, key: key) }
}

/// An image read for SAM: the 8-bit RGB pixels and the model input made from them.
struct SAMImageInput {
    let image: Image8
    let input: Tensor
    let resized: (height: Int, width: Int)
    let preprocessing: SAMPreprocessing

    init(path: String, model: SAMModel) throws {
        try self.init(image: try ImageIO.read(URL(fileURLWithPath: path)), model: model)
    }

    init(image picture: Image8, model: SAMModel) throws {
        image = picture.rgb()
        preprocessing = SAMPreprocessing(modelSize: model.imageEncoder.inputSize)
        (input, resized) = try preprocessing.modelInput(rgb: image.pixels, width: image.width, height: image.height)
    }
}
