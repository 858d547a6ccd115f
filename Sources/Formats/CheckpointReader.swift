import Diagnostics
import Foundation

/// The file formats the toolkit reads weights from.
public enum CheckpointFormat: String, Sendable {
    case pytorchZip = "pytorch-zip"
    case pytorchLegacy = "pytorch-legacy"
    case safetensors
    case npy
    case npz
    case onnx
}

/// Weights read from a file, with the format they came in.
public struct Checkpoint {
    public let format: CheckpointFormat
    public let tensors: StateDict
    /// safetensors `__metadata__` (empty for other formats).
    public let metadata: [String: String]
}

/// One entry point for every weight format, choosing the reader by the file's first bytes (the
/// extension is only consulted for ONNX, whose protobuf encoding has no magic number).
public enum CheckpointReader {
    /// Reads `url`, a weight file or a Hugging Face `save_pretrained` folder (`HuggingFaceFolder`, shards merged);
    /// `key` is a dot path to a nested state dict (PyTorch formats only).
    public static func read(_ url: URL, key: String? = nil) throws -> Checkpoint {
        let file = url.path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDir) else { throw ToolkitError(.missingFile, subject: file, "no such file") }
        if isDir.boolValue { return try HuggingFaceFolder.read(url, key: key) }
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw ToolkitError(.missingFile, subject: file, "cannot read: \(error.localizedDescription)")
        }
        return try read(data, url: url, key: key)
    }

    /// Reads bytes; `url` names the file (and, for ONNX, locates external data).
    public static func read(_ data: Data, url: URL, key: String? = nil) throws -> Checkpoint {
        let file = url.path
        guard let format = detect(data, url: url) else {
            let head = data.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw ToolkitError(.invalidFile, subject: file, "not a recognised checkpoint format (first bytes: \(head.isEmpty ? "none, empty file" : head)); expected a PyTorch .pth/.pt, safetensors, .npy, .npz or .onnx file")
        }
        if key != nil, format != .pytorchZip, format != .pytorchLegacy {
            throw ToolkitError(.invalidArgument, subject: file, "--key applies to PyTorch checkpoints; this is \(format.rawValue)")
        }
        switch format {
        case .pytorchZip, .npz:
            let zip = try ZipArchive.parse(data, file: file)
            if zip.names.contains(where: { $0.hasSuffix("/data.pkl") }) {
                return Checkpoint(format: .pytorchZip, tensors: try TorchZipReader.read(zip, key: key), metadata: [:])
            }
            if zip.names.contains(where: { $0.hasSuffix(".npy") }) {
                if key != nil { throw ToolkitError(.invalidArgument, subject: file, "--key applies to PyTorch checkpoints; this is npz") }
                return Checkpoint(format: .npz, tensors: try Numpy.readArchive(zip), metadata: [:])
            }
            throw ToolkitError(.invalidFile, subject: file, "a zip archive with neither data.pkl (PyTorch) nor .npy members (npz)")
        case .pytorchLegacy:
            return Checkpoint(format: .pytorchLegacy, tensors: try TorchLegacyReader.parse(data, file: file, key: key), metadata: [:])
        case .safetensors:
            let (t, m) = try SafeTensors.parse(data, file: file)
            return Checkpoint(format: .safetensors, tensors: t, metadata: m)
        case .npy:
            var d = StateDict()
            d[url.deletingPathExtension().lastPathComponent] = try Numpy.parse(data, file: file)
            return Checkpoint(format: .npy, tensors: d, metadata: [:])
        case .onnx:
            return Checkpoint(format: .onnx, tensors: try ONNXReader.parse(data, url: url), metadata: [:])
        }
    }

    /// The format of `data` from its magic bytes, or nil.
    public static func detect(_ data: Data, url: URL) -> CheckpointFormat? {
        let h = [UInt8](data.prefix(16))
        if h.count >= 4, h[0] == 0x50, h[1] == 0x4b, (h[2] == 3 && h[3] == 4) || (h[2] == 5 && h[3] == 6) { return .pytorchZip }
        if h.count >= 6, h[0] == 0x93, Array(h[1 ..< 6]) == Array("NUMPY".utf8) { return .npy }
        if TorchLegacyReader.looksLegacy(data) { return .pytorchLegacy }
        if h.count >= 9, h[8] == UInt8(ascii: "{") { return .safetensors }
        if url.pathExtension.lowercased() == "onnx" { return .onnx }
        return nil
    }
}
