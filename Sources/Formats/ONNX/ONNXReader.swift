import CONNX
import Diagnostics
import Foundation
import TensorCore

/// Reads the weights of an ONNX model (initializers and `Constant` nodes) through libprotobuf-c.
///
/// Exports rename weights they fold or transpose (`onnx::MatMul_N`, `val_N`); `ONNXNameMapper` maps them
/// back to PyTorch state-dict names through the graph (`graph(_:)` gives the graph itself).
public enum ONNXReader {
    /// Largest model file accepted (protobuf's own limit is 2 GiB; bigger models use external data).
    public static let maxModelBytes = Int(Int32.max)
    /// Most dimensions of one tensor.
    public static let maxDims = 64

    /// ONNX TensorProto.DataType codes the toolkit stores.
    static let dtypes: [Int32: DType] = [1: .f32, 2: .u8, 3: .i8, 5: .i16, 6: .i32, 7: .i64, 9: .bool,
                                         10: .f16, 11: .f64, 16: .bf16]
    static let typeNames: [Int32: String] = [4: "UINT16", 8: "STRING", 12: "UINT32", 13: "UINT64", 14: "COMPLEX64",
                                             15: "COMPLEX128", 17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ",
                                             19: "FLOAT8E5M2", 20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4"]

    /// Reads `url`; weights are renamed to state-dict names when `mapNames` (see `ONNXNameMapper`).
    public static func read(_ url: URL, mapNames: Bool = true) throws -> StateDict {
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw ToolkitError(.missingFile, subject: url.path, "cannot read: \(error.localizedDescription)")
        }
        return try parse(data, url: url, mapNames: mapNames)
    }

    /// Parses model bytes; `url` locates external data files (relative to its folder).
    public static func parse(_ data: Data, url: URL, mapNames: Bool = true) throws -> StateDict {
        try weights(of: try parseGraph(data, url: url), url: url, mapNames: mapNames)
    }

    /// The weights of a parsed graph as a state dict (names generic-mapped by `ONNXNameMapper` unless `mapNames` is false).
    public static func weights(of g: ONNXGraph, url: URL, mapNames: Bool = true) throws -> StateDict {
        let named = mapNames ? ONNXNameMapper.map(g) : g.weights
        var dict = StateDict()
        for (name, t) in named {
            guard dict[name] == nil else { throw ToolkitError(.invalidFile, subject: url.path, "two weights are named '\(name)'") }
            dict[name] = t
        }
        return dict
    }

    /// Reads `url` as a graph: weights with the names the file gives them, nodes, inputs and outputs.
    public static func graph(_ url: URL) throws -> ONNXGraph {
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw ToolkitError(.missingFile, subject: url.path, "cannot read: \(error.localizedDescription)")
        }
        return try parseGraph(data, url: url)
    }

    /// Parses model bytes into a graph; `url` locates external data files (relative to its folder).
    public static func parseGraph(_ data: Data, url: URL) throws -> ONNXGraph {
        let file = url.path
        guard data.count <= maxModelBytes else { throw ToolkitError(.unsupported, subject: file, "\(data.count) bytes exceeds protobuf's 2 GiB limit") }
        let model = data.withUnsafeBytes { b -> UnsafeMutablePointer<Onnx__ModelProto>? in
            onnx__model_proto__unpack(nil, b.count, b.baseAddress?.assumingMemoryBound(to: UInt8.self))
        }
        guard let model else { throw ToolkitError(.invalidFile, subject: file, "not an ONNX model: the protobuf does not parse as a ModelProto") }
        defer { onnx__model_proto__free_unpacked(model, nil) }
        guard let graph = model.pointee.graph else { throw ToolkitError(.invalidFile, subject: file, "ONNX model without a graph") }
        let g = graph.pointee
        var weights: [(name: String, tensor: StoredTensor)] = []
        var nodes: [ONNXNode] = []
        let folder = url.deletingLastPathComponent()
        for i in 0 ..< g.n_initializer {
            guard let t = g.initializer[i] else { continue }
            let name = string(t.pointee.name) ?? "initializer_\(i)"
            weights.append((name, try tensor(t.pointee, name: name, folder: folder, file: file)))
        }
        for i in 0 ..< g.n_node {
            guard let n = g.node[i]?.pointee else { continue }
            var node = ONNXNode(name: string(n.name) ?? "", opType: string(n.op_type) ?? "",
                                inputs: (0 ..< n.n_input).map { string(n.input[$0]) ?? "" },
                                outputs: (0 ..< n.n_output).map { string(n.output[$0]) ?? "" })
            for a in 0 ..< n.n_attribute {
                guard let attr = n.attribute[a]?.pointee, let an = string(attr.name) else { continue }
                if attr.has_i != 0 { node.ints[an] = Int(attr.i) }
                if attr.has_s != 0, let s = String(bytes: UnsafeBufferPointer(start: attr.s.data, count: attr.s.len), encoding: .utf8) {
                    node.strings[an] = s
                }
                // Constant nodes carry weights too; the value is named by the node's output.
                if node.opType == "Constant", an == "value", let t = attr.t, let out = node.outputs.first {
                    let st = try tensor(t.pointee, name: out, folder: folder, file: file)
                    if st.dtype.isFloatingPoint { weights.append((out, st)) } // integer constants are shapes and indices
                }
            }
            for m in 0 ..< n.n_metadata_props {
                guard let e = n.metadata_props[m]?.pointee, let k = string(e.key) else { continue }
                node.metadata[k] = string(e.value) ?? ""
            }
            nodes.append(node)
        }
        let inputs = (0 ..< g.n_input).compactMap { g.input[$0].flatMap { string($0.pointee.name) } }
        let outputs = (0 ..< g.n_output).compactMap { g.output[$0].flatMap { string($0.pointee.name) } }
        return ONNXGraph(weights: weights, nodes: nodes, inputs: inputs, outputs: outputs)
    }

    private static func string(_ p: UnsafeMutablePointer<CChar>?) -> String? { p.map { String(cString: $0) } }

    /// Decodes one TensorProto: raw_data, typed fields or external data.
    static func tensor(_ t: Onnx__TensorProto, name: String, folder: URL, file: String) throws -> StoredTensor {
        guard let dtype = dtypes[t.data_type] else {
            throw ToolkitError(.unsupported, subject: file, "tensor '\(name)': ONNX data type \(typeNames[t.data_type] ?? String(t.data_type)) is not supported")
        }
        guard t.n_dims <= maxDims else { throw ToolkitError(.unsupported, subject: file, "tensor '\(name)': \(t.n_dims) dimensions, more than \(maxDims)") }
        let shape = (0 ..< t.n_dims).map { Int(t.dims[$0]) }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': negative dimension in \(shape)") }
        var count = 1
        for d in shape {
            let r = count.multipliedReportingOverflow(by: d)
            guard !r.overflow, r.partialValue <= Int(Int32.max) * 8 else { throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': shape \(shape) is too large") }
            count = r.partialValue
        }
        let bytes = count * dtype.byteSize
        func checkCount(_ n: Int, _ field: String) throws {
            guard n == count else { throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': \(dtype.rawValue) \(shape) needs \(count) values, \(field) holds \(n)") }
        }
        if t.has_data_location != 0 && t.data_location == 1 {
            return StoredTensor(dtype: dtype, shape: shape, bytes: try external(t, name: name, bytes: bytes, folder: folder, file: file))
        }
        if t.has_raw_data != 0 {
            guard t.raw_data.len == bytes else {
                throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': \(dtype.rawValue) \(shape) needs \(bytes) bytes, raw_data holds \(t.raw_data.len)")
            }
            return StoredTensor(dtype: dtype, shape: shape, bytes: bytes == 0 ? Data() : Data(bytes: t.raw_data.data, count: bytes))
        }
        // Typed fields: check the value count before allocating (the shape alone may claim gigabytes).
        switch dtype {
        case .f32: try checkCount(t.n_float_data, "float_data")
        case .f64: try checkCount(t.n_double_data, "double_data")
        case .i64: try checkCount(t.n_int64_data, "int64_data")
        case .i32, .i16, .i8, .u8, .bool, .f16, .bf16: try checkCount(t.n_int32_data, "int32_data")
        }
        var out = Data(count: bytes)
        switch dtype {
        case .f32:
            out.withUnsafeMutableBytes { d in for i in 0 ..< count { d.storeBytes(of: t.float_data[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) } }
        case .f64:
            out.withUnsafeMutableBytes { d in for i in 0 ..< count { d.storeBytes(of: t.double_data[i].bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self) } }
        case .i64:
            out.withUnsafeMutableBytes { d in for i in 0 ..< count { d.storeBytes(of: t.int64_data[i].littleEndian, toByteOffset: 8 * i, as: Int64.self) } }
        case .i32, .i16, .i8, .u8, .bool, .f16, .bf16:
            // Narrow types travel widened in int32_data (f16/bf16 as their 16-bit patterns).
            let es = dtype.byteSize
            out.withUnsafeMutableBytes { d in
                for i in 0 ..< count {
                    let v = UInt32(bitPattern: t.int32_data[i]).littleEndian
                    withUnsafeBytes(of: v) { d.baseAddress!.advanced(by: es * i).copyMemory(from: $0.baseAddress!, byteCount: es) }
                }
            }
        }
        return StoredTensor(dtype: dtype, shape: shape, bytes: out)
    }

    /// Reads external data: `location` relative to the model's folder (absolute paths and `..` are
    /// refused), `offset` and `length` checked against the data file.
    static func external(_ t: Onnx__TensorProto, name: String, bytes: Int, folder: URL, file: String) throws -> Data {
        var info: [String: String] = [:]
        for i in 0 ..< t.n_external_data {
            guard let e = t.external_data[i]?.pointee, let k = string(e.key) else { continue }
            info[k] = string(e.value) ?? ""
        }
        guard let location = info["location"], !location.isEmpty else {
            throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': external data without a location")
        }
        let parts = location.split(whereSeparator: { $0 == "/" || $0 == "\\" })
        guard !location.hasPrefix("/"), !location.hasPrefix("\\"), !location.contains(":"), !parts.contains("..") else {
            throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': external data location '\(location)' must be a relative path inside the model's folder (absolute paths and '..' are refused)")
        }
        let offset = Int(info["offset"] ?? "0") ?? -1
        let length = info["length"].map { Int($0) ?? -1 } ?? bytes
        guard offset >= 0, length == bytes else {
            throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': external data offset \(info["offset"] ?? "0"), length \(info["length"] ?? "-"); the tensor needs \(bytes) bytes")
        }
        let dataURL = folder.appendingPathComponent(parts.joined(separator: "/"))
        guard let h = FileHandle(forReadingAtPath: dataURL.path) else {
            throw ToolkitError(.missingFile, subject: file, "tensor '\(name)': cannot open external data file \(dataURL.path)")
        }
        defer { try? h.close() }
        let size = (try? h.seekToEnd()).map(Int.init) ?? 0
        guard offset <= size, bytes <= size - offset else {
            throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': external data \(offset)+\(bytes) bytes runs past the end of \(location) (\(size) bytes)")
        }
        try h.seek(toOffset: UInt64(offset))
        let d = try h.read(upToCount: bytes) ?? Data()
        guard d.count == bytes else { throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': read \(d.count) of \(bytes) bytes from \(location)") }
        return d
    }
}
