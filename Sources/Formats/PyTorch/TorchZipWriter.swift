import Foundation
import TensorCore

/// Writes a state dict as a PyTorch zip checkpoint that `torch.load(path, weights_only=True)` accepts:
/// `data.pkl` (protocol 2, an `OrderedDict` of `_rebuild_tensor_v2` calls), one storage per tensor
/// under `data/`, `byteorder`, `version` and the `.format_version` / `.storage_alignment` markers.
public enum TorchZipWriter {
    static let storageClasses: [DType: String] = [
        .f32: "FloatStorage", .f16: "HalfStorage", .bf16: "BFloat16Storage", .f64: "DoubleStorage",
        .i64: "LongStorage", .i32: "IntStorage", .i16: "ShortStorage", .i8: "CharStorage",
        .u8: "ByteStorage", .bool: "BoolStorage",
    ]

    /// The `data.pkl` of `dict` (storage keys are the tensors' positions).
    static func pickle(_ dict: StateDict) -> [UInt8] {
        var w = PickleWriter()
        w.global("collections", "OrderedDict"); w.emptyTuple(); w.reduce()
        for (batchStart, _) in dict.entries.enumerated() where batchStart % 1000 == 0 {
            w.mark()
            for (i, e) in dict.entries.enumerated() where i >= batchStart && i < batchStart + 1000 {
                w.string(e.name)
                w.global("torch._utils", "_rebuild_tensor_v2")
                w.mark()
                w.mark(); w.string("storage"); w.global("torch", storageClasses[e.tensor.dtype]!)
                w.string(String(i)); w.string("cpu"); w.int(e.tensor.count); w.tuple()
                w.binpersid()
                w.int(0)
                w.intTuple(e.tensor.shape)
                var strides = [Int](repeating: 1, count: e.tensor.shape.count)
                for d in stride(from: e.tensor.shape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * e.tensor.shape[d + 1] }
                w.intTuple(strides)
                w.bool(false)
                w.global("collections", "OrderedDict"); w.emptyTuple(); w.reduce()
                w.tuple()
                w.reduce()
            }
            w.setitems()
        }
        w.stop()
        return w.bytes
    }

    /// Writes `dict` to `url` atomically; `progress(done, total)` is called after each tensor.
    public static func write(_ dict: StateDict, to url: URL, progress: ((Int, Int) -> Void)? = nil) throws {
        // The top folder is the archive's stem, as torch.save names it.
        var top = url.deletingPathExtension().lastPathComponent
        if top.isEmpty || top.contains("/") { top = "archive" }
        try AtomicFile.write(to: url) { handle in
            var zip = ZipWriter(handle: handle, file: url.path)
            try zip.add("\(top)/data.pkl", [Data(pickle(dict))])
            try zip.add("\(top)/.format_version", [Data("1".utf8)])
            try zip.add("\(top)/.storage_alignment", [Data("64".utf8)])
            try zip.add("\(top)/byteorder", [Data("little".utf8)])
            for (i, e) in dict.entries.enumerated() {
                try zip.add("\(top)/data/\(i)", [e.tensor.bytes])
                progress?(i + 1, dict.count)
            }
            try zip.add("\(top)/version", [Data("3\n".utf8)])
            try zip.finish()
        }
    }
}
