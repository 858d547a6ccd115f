import Diagnostics
import Foundation
import TensorCore

/// The safetensors format (the toolkit's native weight format; see Formats/FORMATS.md).
public enum SafeTensors {
    /// Largest JSON header accepted, as the reference implementation.
    public static let maxHeaderBytes = 100_000_000

    static let dtypeNames: [DType: String] = [.f32: "F32", .f16: "F16", .bf16: "BF16", .f64: "F64", .i64: "I64",
                                              .i32: "I32", .i16: "I16", .i8: "I8", .u8: "U8", .bool: "BOOL"]

    /// Reads every tensor and the `__metadata__` map. The file is memory-mapped; aligned tensors are slices
    /// of it (no copy), unaligned ones (from other writers) are copied.
    public static func read(_ url: URL) throws -> (tensors: StateDict, metadata: [String: String]) {
        let file = url.path
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw ToolkitError(.missingFile, subject: file, "cannot read: \(error.localizedDescription)")
        }
        return try parse(data, file: file)
    }

    /// Parses safetensors bytes (`file` names the source in errors).
    public static func parse(_ data: Data, file: String) throws -> (tensors: StateDict, metadata: [String: String]) {
        guard data.count >= 8 else { throw ToolkitError(.invalidFile, subject: file, "not safetensors: \(data.count) bytes, shorter than the 8-byte header length") }
        let n = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n <= UInt64(maxHeaderBytes) else { throw ToolkitError(.invalidFile, subject: file, "header length \(n) exceeds the \(maxHeaderBytes)-byte limit") }
        guard n <= UInt64(data.count - 8) else { throw ToolkitError(.invalidFile, subject: file, "header length \(n) is longer than the file (\(data.count) bytes)") }
        let headerBytes = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + 8 + Int(n)))
        guard headerBytes.first == UInt8(ascii: "{") else { throw ToolkitError(.invalidFile, subject: file, "header does not start with '{'") }
        guard let header = try? JSONSerialization.jsonObject(with: headerBytes) as? [String: Any] else {
            throw ToolkitError(.invalidFile, subject: file, "header is not a JSON object")
        }
        let dataStart = 8 + Int(n), dataSize = data.count - dataStart
        var metadata: [String: String] = [:]
        var spans: [(name: String, begin: Int, end: Int, dtype: DType, shape: [Int])] = []
        // In name order (JSON objects have none), so that a damaged file names the same tensor on every run.
        for name in header.keys.sorted() {
            let value = header[name]!
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw ToolkitError(.invalidFile, subject: file, "__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw ToolkitError(.invalidFile, subject: file, "__metadata__[\(k)] is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any], let dt = info["dtype"] as? String,
                  let shapeAny = info["shape"] as? [Any], let offs = info["data_offsets"] as? [Any], offs.count == 2 else {
                throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': entry needs dtype, shape and two data_offsets")
            }
            guard let dtype = dtypeNames.first(where: { $0.value == dt })?.key else {
                throw ToolkitError(.unsupported, subject: file, "tensor '\(name)': unsupported dtype \(dt)")
            }
            let shape = try shapeAny.map { v -> Int in
                guard let i = (v as? NSNumber)?.intValue, i >= 0, i < 1 << 40 else { throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': bad shape \(shapeAny)") }
                return i
            }
            let (elements, overflow) = shape.reduce((1, false)) { acc, d in
                let r = acc.0.multipliedReportingOverflow(by: d); return (r.partialValue, acc.1 || r.overflow)
            }
            guard let b = (offs[0] as? NSNumber)?.intValue, let e = (offs[1] as? NSNumber)?.intValue,
                  b >= 0, e >= b else {
                throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': data_offsets \(offs) are not an increasing pair of offsets")
            }
            let bytes = elements.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, !bytes.overflow else {
                throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': \(dt) \(shape) is too large (its byte count overflows)")
            }
            guard bytes.partialValue == e - b else {
                throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': \(dt) \(shape) needs \(bytes.partialValue) bytes, offsets give \(e - b)")
            }
            spans.append((name, b, e, dtype, shape))
        }
        // Offsets must tile the data section: sorted, no overlap, no hole. A truncated file is reported at the
        // first tensor (in data order) that it cuts.
        spans.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        if let cut = spans.first(where: { $0.end > dataSize }) {
            throw ToolkitError(.invalidFile, subject: file, "tensor '\(cut.name)': data_offsets [\(cut.begin), \(cut.end)] run past the data section of \(dataSize) bytes"
                + " (the file is truncated or damaged: \((spans.map(\.end).max() ?? 0) - dataSize) bytes missing)")
        }
        var cursor = 0
        for s in spans {
            if s.begin < cursor { throw ToolkitError(.invalidFile, subject: file, "tensor '\(s.name)' overlaps the previous tensor (offset \(s.begin) < \(cursor))") }
            if s.begin > cursor { throw ToolkitError(.invalidFile, subject: file, "hole of \(s.begin - cursor) bytes before tensor '\(s.name)'") }
            cursor = s.end
        }
        if cursor != dataSize { throw ToolkitError(.invalidFile, subject: file, "data section has \(dataSize) bytes, tensors cover \(cursor)") }
        // Keep the file's order (by offset), as other readers do.
        var dict = StateDict()
        for s in spans {
            // A slice of the (mapped) file when the tensor is aligned for its dtype; a copy otherwise, so
            // that consumers may bind the bytes to the element type.
            let range = (data.startIndex + dataStart + s.begin)..<(data.startIndex + dataStart + s.end)
            let aligned = (dataStart + s.begin) % s.dtype.byteSize == 0
            dict[s.name] = StoredTensor(dtype: s.dtype, shape: s.shape, bytes: aligned ? data[range] : Data(data[range]))
        }
        return (dict, metadata)
    }

    /// Serialises tensors contiguously (the reference rejects holes), widest dtype first and otherwise in
    /// the dictionary's order, after a header padded with spaces so the data section starts on a 64-byte
    /// boundary: every tensor is then aligned for its dtype and can be mapped without a copy.
    public static func serialize(_ dict: StateDict, metadata: [String: String] = [:]) throws -> Data {
        let (head, ordered) = try layout(dict, metadata: metadata)
        var out = Data(capacity: head.count + ordered.reduce(0) { $0 + $1.tensor.bytes.count })
        out.append(head)
        for (_, t) in ordered { out.append(t.bytes) }
        return out
    }

    /// The length prefix and padded JSON header, and the tensors in the order their data follows.
    static func layout(_ dict: StateDict, metadata: [String: String]) throws -> (Data, [(name: String, tensor: StoredTensor)]) {
        var offset = 0
        var parts: [String] = []
        if !metadata.isEmpty {
            let m = try JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys])
            parts.append("\"__metadata__\":" + String(decoding: m, as: UTF8.self))
        }
        let ordered = dict.entries.enumerated().sorted {
            ($1.element.tensor.dtype.byteSize, $0.offset) < ($0.element.tensor.dtype.byteSize, $1.offset)
        }.map(\.element)
        for (name, t) in ordered {
            let nameJSON = String(decoding: try JSONSerialization.data(withJSONObject: [name], options: []), as: UTF8.self).dropFirst().dropLast()
            parts.append("\(nameJSON):{\"dtype\":\"\(dtypeNames[t.dtype]!)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}")
            offset += t.bytes.count
        }
        var header = Array(("{" + parts.joined(separator: ",") + "}").utf8)
        while (8 + header.count) % 64 != 0 { header.append(UInt8(ascii: " ")) }
        var out = Data(capacity: 8 + header.count)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        return (out, ordered)
    }

    /// Writes tensors atomically (temporary file + rename), streaming each tensor's bytes to the file
    /// (no second copy of the weights in memory); `progress(done, total)` is called after each tensor.
    public static func write(_ dict: StateDict, metadata: [String: String] = [:], to url: URL,
                             progress: ((Int, Int) -> Void)? = nil) throws {
        let (head, ordered) = try layout(dict, metadata: metadata)
        try AtomicFile.write(to: url) { handle in
            try handle.write(contentsOf: head)
            for (i, e) in ordered.enumerated() {
                if !e.tensor.bytes.isEmpty { try handle.write(contentsOf: e.tensor.bytes) }
                progress?(i + 1, ordered.count)
            }
        }
    }
}
