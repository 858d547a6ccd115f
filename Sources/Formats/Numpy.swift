import Diagnostics
import Foundation
import TensorCore

/// NumPy `.npy` arrays (read and write) and `.npz` archives of them (read).
public enum Numpy {
    /// Largest header accepted (numpy itself refuses headers over 10,000 bytes by default).
    public static let maxHeaderBytes = 1 << 20
    /// Most dimensions accepted.
    public static let maxDims = 64

    static let codes: [String: DType] = ["f4": .f32, "f2": .f16, "f8": .f64, "i8": .i64, "i4": .i32, "i2": .i16,
                                         "i1": .i8, "u1": .u8, "b1": .bool]

    /// Reads one `.npy` file.
    public static func read(_ url: URL) throws -> StoredTensor {
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw ToolkitError(.missingFile, subject: url.path, "cannot read: \(error.localizedDescription)")
        }
        return try parse(data, file: url.path)
    }

    /// Parses `.npy` bytes (`file` names the source in errors).
    public static func parse(_ data: Data, file: String) throws -> StoredTensor {
        let bytes = [UInt8](data.prefix(12))
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1 ..< 6]) == Array("NUMPY".utf8) else {
            throw ToolkitError(.invalidFile, subject: file, "not a .npy file: missing the \\x93NUMPY magic")
        }
        let major = bytes[6]
        var headerLen: Int, start: Int
        switch major {
        case 1: headerLen = Int(bytes[8]) | Int(bytes[9]) << 8; start = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw ToolkitError(.invalidFile, subject: file, ".npy header truncated") }
            headerLen = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24; start = 12
        default: throw ToolkitError(.unsupported, subject: file, ".npy version \(major).\(bytes[7]) is not supported (1 to 3 are)")
        }
        guard headerLen <= maxHeaderBytes else { throw ToolkitError(.invalidFile, subject: file, ".npy header of \(headerLen) bytes exceeds the \(maxHeaderBytes)-byte limit") }
        guard start + headerLen <= data.count else {
            throw ToolkitError(.invalidFile, subject: file, ".npy header of \(headerLen) bytes is longer than the file (\(data.count) bytes)")
        }
        let header = String(decoding: data[data.startIndex + start ..< data.startIndex + start + headerLen], as: UTF8.self)
        let descr = try field(header, "descr", file: file)
        let fortran = try field(header, "fortran_order", file: file)
        let shapeText = try field(header, "shape", file: file)
        guard descr.count >= 3, descr.first == "'" || descr.first == "\"" else {
            throw ToolkitError(.unsupported, subject: file, ".npy descr \(descr) is not a simple type (structured arrays are not supported)")
        }
        let d = descr.dropFirst().dropLast()
        let order = d.first!, code = String(d.dropFirst())
        guard let dtype = codes[code], "<>|=".contains(order) else {
            throw ToolkitError(.unsupported, subject: file, ".npy dtype \(d) is not supported (f2 f4 f8 i1 i2 i4 i8 u1 b1 are)")
        }
        let shape = try parseShape(shapeText, file: file)
        let (count, overflow) = shape.reduce((1, false)) { a, s in let r = a.0.multipliedReportingOverflow(by: s); return (r.partialValue, a.1 || r.overflow) }
        let needed = count.multipliedReportingOverflow(by: dtype.byteSize)
        let body = data.count - start - headerLen
        guard !overflow, !needed.overflow, needed.partialValue <= body else {
            throw ToolkitError(.invalidFile, subject: file, ".npy array \(d) \(shape) needs \(overflow ? "more than Int.max" : String(needed.partialValue)) bytes, the file holds \(body) after the header")
        }
        let begin = data.startIndex + start + headerLen
        var raw = Data(data[begin ..< begin + needed.partialValue])
        if order == ">" && dtype.byteSize > 1 { raw.withUnsafeMutableBytes { swapEach($0, dtype.byteSize) } }
        if fortran == "True" && shape.count > 1 { raw = fortranToC(raw, shape: shape, es: dtype.byteSize) }
        return StoredTensor(dtype: dtype, shape: shape, bytes: raw)
    }

    /// Serialises a tensor as `.npy` version 1.0 with a header padded to a multiple of 64 bytes.
    public static func serialize(_ t: StoredTensor, file: String = "<npy>") throws -> Data {
        guard let code = codes.first(where: { $0.value == t.dtype })?.key else {
            throw ToolkitError(.unsupported, subject: file, "numpy has no \(t.dtype.rawValue) dtype; convert to f32 first")
        }
        let order = t.dtype.byteSize == 1 ? "|" : "<"
        let shape = t.shape.count == 1 ? "(\(t.shape[0]),)" : "(" + t.shape.map(String.init).joined(separator: ", ") + ")"
        var header = Array("{'descr': '\(order)\(code)', 'fortran_order': False, 'shape': \(shape), }".utf8)
        while (10 + header.count + 1) % 64 != 0 { header.append(UInt8(ascii: " ")) }
        header.append(UInt8(ascii: "\n"))
        guard header.count <= 65535 else { throw ToolkitError(.unsupported, subject: file, "shape \(t.shape) makes a header too long for .npy 1.0") }
        var out = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 0xff), UInt8(header.count >> 8)])
        out.append(contentsOf: header)
        out.append(t.bytes)
        return out
    }

    /// Writes a `.npy` file atomically.
    public static func write(_ t: StoredTensor, to url: URL) throws {
        try AtomicFile.write(try serialize(t, file: url.path), to: url)
    }

    /// Reads every `<name>.npy` member of an `.npz` archive (stored or deflated), in archive order.
    public static func readArchive(_ url: URL) throws -> StateDict {
        try readArchive(ZipArchive.read(url))
    }

    static func readArchive(_ zip: ZipArchive) throws -> StateDict {
        var dict = StateDict()
        for name in zip.names {
            guard name.hasSuffix(".npy"), let data = zip[name] else { continue }
            do { dict[String(name.dropLast(4))] = try parse(data, file: zip.file) } catch let e as ToolkitError {
                throw ToolkitError(e.kind, subject: zip.file, "member \(name): \(e.message)")
            }
        }
        guard dict.count > 0 else { throw ToolkitError(.invalidFile, subject: zip.file, "no .npy members: not an .npz archive") }
        return dict
    }

    // MARK: - header helpers

    /// The text of `key`'s value in the header's Python dict literal.
    private static func field(_ header: String, _ key: String, file: String) throws -> String {
        for quote in ["'", "\""] {
            guard let r = header.range(of: quote + key + quote) else { continue }
            var rest = header[r.upperBound...].drop { $0 == " " }
            guard rest.first == ":" else { break }
            rest = rest.dropFirst().drop { $0 == " " }
            if rest.first == "(" {
                guard let close = rest.firstIndex(of: ")") else { break }
                return String(rest[...close])
            }
            if rest.first == "'" || rest.first == "\"" {
                let q = rest.first!
                guard let close = rest.dropFirst().firstIndex(of: q) else { break }
                return String(rest[...close])
            }
            return String(rest.prefix { $0 != "," && $0 != "}" }).trimmingCharacters(in: .whitespaces)
        }
        throw ToolkitError(.invalidFile, subject: file, ".npy header lacks '\(key)': \(header.prefix(200))")
    }

    private static func parseShape(_ text: String, file: String) throws -> [Int] {
        guard text.hasPrefix("("), text.hasSuffix(")") else { throw ToolkitError(.invalidFile, subject: file, ".npy shape \(text) is not a tuple") }
        let parts = text.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard parts.count <= maxDims else { throw ToolkitError(.unsupported, subject: file, ".npy shape has \(parts.count) dimensions, more than \(maxDims)") }
        return try parts.map { p in
            guard let v = Int(p.hasSuffix("L") ? String(p.dropLast()) : p), v >= 0 else {
                throw ToolkitError(.invalidFile, subject: file, ".npy shape \(text) holds '\(p)'")
            }
            return v
        }
    }

    private static func swapEach(_ buf: UnsafeMutableRawBufferPointer, _ es: Int) {
        let p = buf.bindMemory(to: UInt8.self)
        var i = 0
        while i + es <= p.count { p[i ..< i + es].reverse(); i += es }
    }

    /// Reorders column-major bytes into row-major order.
    private static func fortranToC(_ src: Data, shape: [Int], es: Int) -> Data {
        let count = shape.reduce(1, *)
        var out = Data(count: count * es)
        var fstride = [Int](repeating: 1, count: shape.count)
        for i in 1 ..< shape.count { fstride[i] = fstride[i - 1] * shape[i - 1] }
        src.withUnsafeBytes { s in
            out.withUnsafeMutableBytes { d in
                var index = [Int](repeating: 0, count: shape.count)
                var off = 0
                for i in 0 ..< count {
                    (d.baseAddress! + i * es).copyMemory(from: s.baseAddress! + off * es, byteCount: es)
                    var k = shape.count - 1
                    while k >= 0 {
                        index[k] += 1; off += fstride[k]
                        if index[k] < shape[k] { break }
                        off -= fstride[k] * shape[k]; index[k] = 0; k -= 1
                    }
                }
            }
        }
        return out
    }
}
