import Diagnostics
import Foundation
import TensorCore

/// Turns `_rebuild_tensor_v2` views into contiguous little-endian `StoredTensor`s, checking every
/// offset, size and stride against the storage's real length first.
struct TensorMaterializer {
    let file: String
    /// Raw bytes of each storage key, as stored in the file.
    let storages: [String: Data]
    /// Whether the storages are big-endian (the zip format's `byteorder` says "big").
    let bigEndian: Bool

    /// Materialises `ref` (named `name` in errors).
    func tensor(_ ref: TorchTensorRef, name: String) throws -> StoredTensor {
        let dtype = ref.storage.dtype, es = dtype.byteSize
        var key = ref.storage.key, base = 0, avail: Int
        if let v = ref.storage.view {
            // Legacy storage views: a window of another storage.
            key = v.key
            base = v.offset
        }
        guard let raw = storages[key] else {
            throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': its storage '\(key)' is missing from the file")
        }
        if let v = ref.storage.view {
            // The window must lie inside the storage it views.
            let (end, overflow) = v.offset.addingReportingOverflow(v.count)
            guard v.offset >= 0, v.count >= 0, !overflow, end <= raw.count / es else {
                throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': storage view [\(v.offset), \(v.offset) + \(v.count)) lies outside storage '\(key)' (\(raw.count / es) \(dtype.rawValue) elements)")
            }
        }
        avail = raw.count / es - base
        if let v = ref.storage.view { avail = min(avail, v.count) }
        guard raw.count % es == 0 else {
            throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': storage '\(key)' has \(raw.count) bytes, not a multiple of \(dtype.rawValue)'s \(es)")
        }
        guard ref.storage.numel <= avail else {
            throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': storage '\(key)' should hold \(ref.storage.numel) \(dtype.rawValue) elements, the file has \(max(avail, 0))")
        }
        guard ref.size.count == ref.stride.count, ref.size.count <= 64 else {
            throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': \(ref.size.count) sizes but \(ref.stride.count) strides")
        }
        guard ref.offset >= 0, ref.size.allSatisfy({ $0 >= 0 }), ref.stride.allSatisfy({ $0 >= 0 }) else {
            throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': negative offset, size or stride (offset \(ref.offset), size \(ref.size), stride \(ref.stride))")
        }
        // Element count, and the last element the view touches, without overflow.
        var count = 1, last = ref.offset, overflow = false
        for (s, st) in zip(ref.size, ref.stride) {
            let c = count.multipliedReportingOverflow(by: s); count = c.partialValue; overflow = overflow || c.overflow
            if s > 0 {
                let span = (s - 1).multipliedReportingOverflow(by: st)
                let l = last.addingReportingOverflow(span.partialValue)
                last = l.partialValue; overflow = overflow || span.overflow || l.overflow
            }
        }
        guard !overflow else { throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': size \(ref.size) with stride \(ref.stride) overflows") }
        if count > 0, last >= avail || ref.offset >= avail {
            throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': size \(ref.size), stride \(ref.stride), offset \(ref.offset) reach element \(last), past the end of storage '\(key)' (\(max(avail, 0)) elements)")
        }
        let start = raw.startIndex + (base + ref.offset) * es
        if count == 0 { return StoredTensor(dtype: dtype, shape: ref.size, bytes: Data()) }
        // Broadcast views (stride 0) expand when materialised: bound what a small file can make us allocate.
        let (outBytes, outOverflow) = count.multipliedReportingOverflow(by: es)
        let limit = max(1 << 30, 64 * raw.count)
        guard !outOverflow, outBytes <= limit else {
            throw ToolkitError(.invalidFile, subject: file, "tensor '\(name)': size \(ref.size) with stride \(ref.stride) would expand \(raw.count) stored bytes to \(outOverflow ? "more than Int.max" : "\(outBytes)") bytes (limit \(limit))")
        }
        var out: Data
        if isContiguous(ref.size, ref.stride) {
            out = raw[start ..< start + count * es]   // a slice: no copy
        } else {
            out = Data(count: count * es)
            raw.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
                out.withUnsafeMutableBytes { (dst: UnsafeMutableRawBufferPointer) in
                    gather(src: src, from: start - raw.startIndex, dst: dst, size: ref.size, stride: ref.stride, es: es)
                }
            }
        }
        if bigEndian && es > 1 {
            if out.startIndex != 0 || out.count != raw.count { out = Data(out) }
            out.withUnsafeMutableBytes { swapBytes($0, es) }
        }
        return StoredTensor(dtype: dtype, shape: ref.size, bytes: out)
    }

    private func isContiguous(_ size: [Int], _ stride: [Int]) -> Bool {
        var expect = 1
        for i in stride.indices.reversed() where size[i] != 1 {
            if stride[i] != expect { return false }
            expect *= size[i]
        }
        return true
    }

    /// Copies a strided view element by element (row-major order of `size`).
    private func gather(src: UnsafeRawBufferPointer, from: Int, dst: UnsafeMutableRawBufferPointer,
                        size: [Int], stride: [Int], es: Int) {
        let rank = size.count
        var index = [Int](repeating: 0, count: rank)
        var o = 0
        let total = size.reduce(1, *)
        for i in 0 ..< total {
            (dst.baseAddress! + i * es).copyMemory(from: src.baseAddress! + from + o * es, byteCount: es)
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                o += stride[d]
                if index[d] < size[d] { break }
                o -= stride[d] * size[d]
                index[d] = 0
                d -= 1
            }
        }
    }

    private func swapBytes(_ buf: UnsafeMutableRawBufferPointer, _ es: Int) {
        let p = buf.bindMemory(to: UInt8.self)
        var i = 0
        while i + es <= p.count {
            var a = i, b = i + es - 1
            while a < b { p.swapAt(a, b); a += 1; b -= 1 }
            i += es
        }
    }
}
