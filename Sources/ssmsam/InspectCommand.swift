import ArgumentParser
import Foundation
import Formats
import SSMSAM

/// `ssmsam inspect FILE`: what a weight file holds.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show the format, tensor count, parameter count, dtypes and tensors of a weight file (and an SSM-SAM model's groups).",
        discussion: """
            Reads PyTorch (.pth/.pt, zip and legacy), safetensors, ONNX, .npy and .npz; the format is detected from the file's bytes.

            Examples:
              ssmsam inspect sam_vit_b_01ec64.pth
              ssmsam inspect training.ckpt --key model --json
            """)

    @Argument(help: "The weight file, or a Hugging Face save_pretrained folder (shards merged).") var file: String
    @Option(help: "Dot path to a nested state dict in a PyTorch checkpoint (e.g. model or state.ema).") var key: String?
    @Flag(help: "Print {\"format\", \"tensors\": [{\"name\", \"dtype\", \"shape\"}]} as JSON.") var json = false

    func run() throws {
        let checkpoint = try CLIErrors.report { try CheckpointReader.read(URL(fileURLWithPath: file), key: key) }
        let dict = checkpoint.tensors
        if json {
            let tensors: [[String: Any]] = dict.entries.map { ["name": $0.name, "dtype": $0.tensor.dtype.rawValue, "shape": $0.tensor.shape] }
            try JSONOutput.print(["format": checkpoint.format.rawValue, "tensors": tensors], pretty: false)
            return
        }
        print("file:        \(file)")
        print("format:      \(checkpoint.format.rawValue)")
        print("tensors:     \(Self.grouped(dict.count))")
        print("parameters:  \(Self.grouped(dict.parameterCount))")
        var byType: [(String, Int, Int)] = []
        for dtype in Set(dict.entries.map(\.tensor.dtype)).sorted(by: { $0.rawValue < $1.rawValue }) {
            let ts = dict.entries.filter { $0.tensor.dtype == dtype }
            byType.append((dtype.rawValue, ts.count, ts.reduce(0) { $0 + $1.tensor.count }))
        }
        print("dtypes:      " + byType.map { "\($0.0) \($0.1) tensors (\(Self.grouped($0.2)) values)" }.joined(separator: ", "))
        var prefixes: [(String, Int)] = []
        for name in dict.names {
            let p = name.split(separator: ".").first.map(String.init) ?? name
            if let i = prefixes.firstIndex(where: { $0.0 == p }) { prefixes[i].1 += 1 } else { prefixes.append((p, 1)) }
        }
        if prefixes.count <= 20 { print("prefixes:    " + prefixes.map { "\($0.0) \($0.1)" }.joined(separator: ", ")) }
        for (k, v) in checkpoint.metadata.sorted(by: { $0.key < $1.key }) { print("metadata:    \(k) = \(v)") }
        if dict.names.contains(where: { $0.hasPrefix("sampler.") }) {
            // An SSM-SAM model: its groups as the model binds them (frozen base, trainable heads).
            let model = try CLIErrors.report { try SSMSAMStore.load(URL(fileURLWithPath: file)) }
            print("")
            SSMModelSummary.lines(model).forEach { print($0) }
        }
        print("")
        let width = min(max(dict.names.map(\.count).max() ?? 4, 4), 80)
        print("name".padding(toLength: width, withPad: " ", startingAt: 0) + "  dtype  shape")
        for (name, t) in dict.entries {
            print(name.padding(toLength: max(width, name.count), withPad: " ", startingAt: 0) + "  "
                  + t.dtype.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0) + "  [" + t.shape.map(String.init).joined(separator: ", ") + "]")
        }
    }

    /// 10140204 -> "10,140,204".
    static func grouped(_ n: Int) -> String {
        let s = String(n)
        var out = ""
        for (i, c) in s.enumerated() {
            if i > 0, (s.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }
}
