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
        abstract: "Convert a weight file or a Hugging Face folder to safetensors or a PyTorch .pth (zip format), optionally renaming SAM's tensors.",
        discussion: """
            The output format follows OUT's extension (.safetensors, .pth or .pt). The output is written to a temporary name and renamed, so a failure leaves nothing behind. A SAM checkpoint converted to OUT.safetensors gets its architecture as OUT.json (with the marker \"format\": \"ssmsam-sam-config/1\"); an OUT.json that ssmsam did not write is never replaced or deleted.

            Examples:
              ssmsam convert sam_vit_b_01ec64.pth vit_b.safetensors
              ssmsam convert hf-sam-vit-base/ vit_b.pth --names official
              ssmsam convert encoder.onnx sam.safetensors --decoder decoder.onnx
              ssmsam convert vit_b.safetensors vit_b_hf.safetensors --names hf --dtype f16
            """)

    @Argument(help: "The input: a weight file (PyTorch, safetensors, ONNX, .npy, .npz) or a Hugging Face save_pretrained folder.") var input: String
    @Argument(help: "The output file: .safetensors, .pth or .pt.") var output: String
    @Option(help: "A second file whose prompt encoder and mask decoder complete the first one (e.g. SamOnnxModel's ONNX export beside an image-encoder export): one full checkpoint out.") var decoder: String?
    @Option(help: "Dot path to a nested state dict in a PyTorch checkpoint.") var key: String?
    @Option(help: "Store floating-point tensors as f32, f16 or bf16 (integer tensors are kept).") var dtype: String?
    @Option(help: "Rename SAM's tensors: official (segment-anything's) or hf (transformers' SamModel). Default: as in the input.") var names: String?

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
            let convention = try names.map { n in
                guard let c = NameConvention(rawValue: n) else { throw ToolkitError(.invalidArgument, subject: output, "--names \(n) is not one of official, hf") }
                return c
            }
            let inURL = URL(fileURLWithPath: input)
            if inURL.standardizedFileURL.path == out.standardizedFileURL.path {
                throw ToolkitError(.invalidArgument, subject: output, "the output would overwrite the input")
            }
            var dict: StateDict
            if let decoder {
                // Two files, one checkpoint: the first one's image encoder, the second one's prompt encoder and mask decoder.
                let (merged, unmatched) = try SAMModelStore.weights(inURL, key: key, decoder: URL(fileURLWithPath: decoder))
                dict = merged
                if !unmatched.isEmpty { notRecovered(unmatched) }
            } else if try SAMModelStore.isONNX(inURL, key: key) {
                let r = try SAMONNXImport.weightsOrGeneric(inURL)
                dict = r.weights
                if r.recovered {
                    FileHandle.standardError.write(Data("\(input): an ONNX export of SAM's \(r.weights.names.contains { $0.hasPrefix("image_encoder.") } ? "image encoder" : "prompt encoder and mask decoder"); official names recovered from the graph\n".utf8))
                    if !r.unmatched.isEmpty { notRecovered(r.unmatched) }
                }
            } else {
                dict = try CheckpointReader.read(inURL, key: key).tensors
            }
            // A SAM checkpoint keeps its architecture: the config that came with it (a Hugging Face config.json, the
            // .json beside it), else the one its shapes show.
            let detected = try? SAMConfig.detect(from: dict, file: input)
            let config = try detected.map { try SAMModelStore.config(for: inURL) ?? $0 }
            if let convention {
                if convention == .huggingFace && detected == nil { _ = try SAMConfig.detect(from: dict, file: input) }
                dict = try HuggingFaceNames.convert(dict, to: convention, file: input)
            }
            // The config beside the output: written for a SAM checkpoint, removed when stale; a file the toolkit did
            // not write is never replaced or deleted.
            let configURL = SAMModelStore.configURL(for: out)
            let configExists = ext == "safetensors" && FileManager.default.fileExists(atPath: configURL.path)
            let ours = configExists && SAMModelStore.isToolkitConfig(configURL)
            if config != nil, configExists, !ours {
                throw ToolkitError(.invalidArgument, subject: configURL.path, "exists and is not a config ssmsam wrote (no \"format\": \"\(SAMModelStore.configFormat)\"); the architecture of \(out.lastPathComponent) would replace it: move it away or choose another output name")
            }
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
                if let config {
                    try SAMModelStore.writeConfig(config, to: configURL)
                    print("wrote \(configURL.path): SAM \(config.preset ?? "custom") architecture")
                } else if ours {
                    // A config left from an earlier conversion would describe other weights.
                    try FileManager.default.removeItem(at: configURL)
                    FileHandle.standardError.write(Data("removed \(configURL.path) (an earlier conversion's config): not a SAM checkpoint, so no architecture is known\n".utf8))
                } else if configExists {
                    FileHandle.standardError.write(Data("left \(configURL.path) untouched: ssmsam did not write it\n".utf8))
                }
            } else {
                try TorchZipWriter.write(dict, to: out) { progress.update($0, $1) }
            }
            progress.finish()
            let naming = convention.map { ", \($0 == .official ? "official" : "Hugging Face SamModel") names" } ?? ""
            print("wrote \(output): \(dict.count) tensors, \(InspectCommand.grouped(dict.parameterCount)) values\(naming)")
        }
    }

    /// ONNX tensors no recovery rule placed: named (at most ten) on stderr, so a partial recovery is never silent.
    private func notRecovered(_ unmatched: [String]) {
        FileHandle.standardError.write(Data("warning: \(unmatched.count) ONNX tensors not recovered (left out): \(unmatched.prefix(10).joined(separator: ", "))\n".utf8))
    }
}
