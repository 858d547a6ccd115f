import ArgumentParser
import Foundation
import SAM

/// `--model`, `--decoder` and `--preset`, shared by the commands that run SAM.
struct ModelOptions: ParsableArguments {
    @Option(help: "A checkpoint (.pth, .onnx, .safetensors with its .json config) a model name in the models directory (e.g. mobile_sam), or zoo:ID[@VERSION] (an installed zoo package).")
    var model: String
    @Option(help: "The prompt encoder and mask decoder from another file, e.g. an ONNX export of SamOnnxModel when --model is an ONNX export of the image encoder.")
    var decoder: String?
    @Option(help: "Architecture preset (vit_b, vit_l, vit_h) when the checkpoint has no config beside it.")
    var preset: String?
    @Option(help: "Dot path to the state dict inside a nested PyTorch checkpoint.")
    var key: String?

    func load() throws -> SAMModel { try ZooModels.sam(model, preset: preset, key: key, decoder: decoder) }

    /// The image encoder alone (a full checkpoint or an export of the encoder): what `encode` runs.
    func loadImageEncoder() throws -> any SAMImageEncoder {
        if decoder != nil { throw ValidationError("--decoder is not used by encode, which runs the image encoder alone") }
        if ZooModels.isReference(model) { return try load().imageEncoder }
        return try SAMModelStore.loadImageEncoder(model, preset: preset, key: key)
    }
}
