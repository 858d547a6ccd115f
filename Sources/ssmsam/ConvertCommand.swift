import ArgumentParser
import Diagnostics
import Foundation
import Formats
import SAM
import TensorCore

/// `ssmsam convert IN OUT`: rewrite weights in another format (and optionally another float dtype).
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a weight file to safetensors or a PyTorch .pth (zip format).",
        discussion: "The output format follows OUT's extension (.safetensors, .pth or .pt). The output is written to a temporary name and renamed, so a failure leaves nothing behind.")

    @Argument(help: "The input weight file (PyTorch, safetensors, ONNX, .npy, .npz).") var input: String
    @Argument(help: "The output file: .safetensors, .pth or .pt.") var output: String
    @Option(help: "Dot path to a nested state dict in a PyTorch checkpoint.") var key: String?
    @Option(help: "Store floating-point tensors as f32, f16 or bf16 (integer tensors are kept).") var dtype: String?

    func run() throws {
        let out = URL(fileURLWithPath: output)
        let ext = out.pathExtension.lowercased()
        try CLIErrors.report {
            guard ["safetensors", "pth", "pt"].contains(ext) else {
                throw ToolkitError(.unsupported, subject: output, "unknown output format '.\(ext)'; use .safetensors, .pth or .pt")
            }
            if let dtype, !["f32", "f16", "bf16"].contains(dtype) {
                throw ToolkitError(.invalidArgument, subject: output, "--dtype \(dtype) is not one of f32, f16, bf16")
            }
            let inURL = URL(fileURLWithPath: input)
            if inURL.standardizedFileURL.path == out.standardizedFileURL.path {
                throw ToolkitError(.invalidArgument, subject: output, "the output would overwrite the input")
            }
            var dict = try CheckpointReader.read(inURL, key: key).tensors
            let progress = ProgressBar(label: "writing \(out.lastPathComponent)")
            if let dtype, let target = DType(rawValue: dtype) {
                var cast = StateDict()
                for (name, t) in dict.entries {
                    cast[name] = t.dtype.isFloatingPoint && t.dtype != target ? StoredTensor(t.floatTensor, as: target) : t
                }
                dict = cast
            }
            if ext == "safetensors" {
                try SafeTensors.write(dict, metadata: ["format": "pt"], to: out) { progress.update($0, $1) }
                // The native format: a SAM checkpoint gets its architecture as JSON beside the weights.
                let configURL = SAMModelStore.configURL(for: out)
                if let config = try? SAMConfig.detect(from: dict, file: input) {
                    try SAMModelStore.writeConfig(config, to: configURL)
                    FileHandle.standardError.write(Data("wrote \(configURL.path): SAM \(config.preset ?? "custom") architecture\n".utf8))
                } else if FileManager.default.fileExists(atPath: configURL.path) {
                    // A config left from an earlier conversion would describe other weights.
                    try FileManager.default.removeItem(at: configURL)
                    FileHandle.standardError.write(Data("removed \(configURL.path): not a SAM checkpoint, so no architecture is known\n".utf8))
                }
            } else {
                try TorchZipWriter.write(dict, to: out) { progress.update($0, $1) }
            }
            progress.finish()
            FileHandle.standardError.write(Data("wrote \(output): \(dict.count) tensors, \(InspectCommand.grouped(dict.parameterCount)) values\n".utf8))
        }
    }
}
