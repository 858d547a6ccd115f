import ArgumentParser
import Foundation
import SAM

/// `--model` and `--preset`, shared by the commands that run SAM.
struct ModelOptions: ParsableArguments {
    @Option(help: "A checkpoint (.pth, .onnx, .safetensors with its .json config) a model name in the models directory (e.g. mobile_sam), or zoo:ID[@VERSION] (an installed zoo package).")
    var model: String
    @Option(help: "Architecture preset (vit_b, vit_l, vit_h) when the checkpoint has no config beside it.")
    var preset: String?
    @Option(help: "Dot path to the state dict inside a nested PyTorch checkpoint.")
    var key: String?

    func load() throws -> SAMModel { try ZooModels.sam(model, preset: preset, key: key) }
}
