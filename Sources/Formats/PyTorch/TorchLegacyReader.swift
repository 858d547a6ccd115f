import Diagnostics
import Foundation
import TensorCore

/// Reads PyTorch checkpoints in the legacy format (before 1.6, `_use_new_zipfile_serialization=False`):
/// five pickles back to back (magic number, protocol 1001, system info, the object, the storage keys),
/// then each storage as an int64 element count and its raw bytes.
public enum TorchLegacyReader {
    /// 0x1950a86a20f9469cfc6c, little-endian, as LONG1 carries it.
    static let magic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]

    /// Whether `data` starts like a legacy checkpoint (PROTO 2, LONG1 of 10 bytes, the magic).
    static func looksLegacy(_ data: Data) -> Bool {
        let head = [UInt8](data.prefix(14))
        return head.count == 14 && head[0] == 0x80 && head[2] == 0x8a && head[3] == 10 && Array(head[4 ..< 14]) == magic
    }

    /// Reads the state dict in `url`; `key` selects a nested dict.
    public static func read(_ url: URL, key: String? = nil) throws -> StateDict {
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw ToolkitError(.missingFile, subject: url.path, "cannot read: \(error.localizedDescription)")
        }
        return try parse(data, file: url.path, key: key)
    }

    /// Parses legacy checkpoint bytes.
    public static func parse(_ data: Data, file: String, key: String? = nil) throws -> StateDict {
        try data.withUnsafeBytes { (b: UnsafeRawBufferPointer) -> StateDict in
            guard looksLegacy(data) else { throw ToolkitError(.invalidFile, subject: file, "not a legacy PyTorch checkpoint: the magic number is missing") }
            var (_, p) = try Unpickler.load(b, from: 0, file: file)
            let (proto, p2) = try Unpickler.load(b, from: p, file: file)
            guard proto.intValue == 1001 else { throw ToolkitError(.invalidFile, subject: file, "legacy protocol \(proto.keyString), expected 1001") }
            let (info, p3) = try Unpickler.load(b, from: p2, file: file)
            var little = true
            if case .dict(let d) = info, case .bool(let le)? = d["little_endian"] { little = le }
            let (root, p4) = try Unpickler.load(b, from: p3, file: file)
            let (keysV, p5) = try Unpickler.load(b, from: p4, file: file)
            p = p5
            guard let keys = keysV.sequence else { throw ToolkitError(.invalidFile, subject: file, "legacy storage key list is \(keysV.kindWithArticle)") }
            // The element size of each storage comes from the tensors that reference it.
            var dtypes: [String: DType] = [:]
            collectStorages(root, into: &dtypes, depth: 0)
            var storages: [String: Data] = [:]
            for k in keys {
                guard case .string(let key) = k else { throw ToolkitError(.invalidFile, subject: file, "legacy storage key is \(k.kindWithArticle)") }
                guard let dtype = dtypes[key] else {
                    throw ToolkitError(.invalidFile, subject: file, "storage '\(key)' is listed but no tensor names its dtype, so its size is unknown")
                }
                guard b.count - p >= 8 else { throw ToolkitError(.invalidFile, subject: file, "truncated before storage '\(key)'") }
                var n = b.loadUnaligned(fromByteOffset: p, as: Int64.self)
                n = little ? Int64(littleEndian: n) : Int64(bigEndian: n)
                p += 8
                let bytes = Int(exactly: n).flatMap { $0 >= 0 ? $0.multipliedReportingOverflow(by: dtype.byteSize) : nil }
                guard let bytes, !bytes.overflow, bytes.partialValue <= b.count - p else {
                    throw ToolkitError(.invalidFile, subject: file, "storage '\(key)' claims \(n) \(dtype.rawValue) elements; only \(b.count - p) bytes remain in the file")
                }
                storages[key] = data[data.startIndex + p ..< data.startIndex + p + bytes.partialValue]
                p += bytes.partialValue
            }
            return try TorchObject.stateDict(root, key: key, storages: storages, bigEndian: !little, file: file)
        }
    }

    private static func collectStorages(_ v: PickleValue, into out: inout [String: DType], depth: Int) {
        guard depth < 64 else { return }
        switch v {
        case .tensor(let t):
            out[t.storage.view?.key ?? t.storage.key] = t.storage.dtype
        case .storage(let s): out[s.view?.key ?? s.key] = s.dtype
        case .dict(let d): d.values.forEach { collectStorages($0, into: &out, depth: depth + 1) }
        case .list(let l): l.items.forEach { collectStorages($0, into: &out, depth: depth + 1) }
        case .tuple(let t): t.forEach { collectStorages($0, into: &out, depth: depth + 1) }
        case .object(let o): collectStorages(o.state, into: &out, depth: depth + 1); o.args.forEach { collectStorages($0, into: &out, depth: depth + 1) }
        default: break
        }
    }
}
