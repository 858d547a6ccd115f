import CArchive
import Diagnostics
import Foundation

/// Writes a zip archive of stored (uncompressed) entries whose data start on 64-byte boundaries, as
/// PyTorch's writer does: the local header's extra field carries the padding, so tensors can be mapped
/// in place. Streams to a `FileHandle`; no ZIP64 (an archive above 4 GiB is refused).
struct ZipWriter {
    static let alignment = 64
    let file: String
    let handle: FileHandle
    private var offset = 0
    private var central: [UInt8] = []
    private var count = 0

    init(handle: FileHandle, file: String) { (self.handle, self.file) = (handle, file) }

    /// Adds one entry, written from `parts` (concatenated).
    mutating func add(_ name: String, _ parts: [Data]) throws {
        let nameBytes = Array(name.utf8)
        let size = parts.reduce(0) { $0 + $1.count }
        var crc: UInt = crc32(0, nil, 0)
        for p in parts {
            p.withUnsafeBytes { b in
                var rest = UnsafeRawBufferPointer(b)
                while !rest.isEmpty { // zlib's crc32 takes a 32-bit length
                    let n = min(rest.count, 1 << 30)
                    crc = crc32(crc, rest.baseAddress!.assumingMemoryBound(to: UInt8.self), uInt(n))
                    rest = UnsafeRawBufferPointer(rebasing: rest[n...])
                }
            }
        }
        let headerEnd = offset + 30 + nameBytes.count
        let pad = (Self.alignment - (headerEnd + 4) % Self.alignment) % Self.alignment
        guard offset + 30 + nameBytes.count + 4 + pad + size < Int(UInt32.max), count < 65535 else {
            throw ToolkitError(.unsupported, subject: file, "archive larger than 4 GiB or 65535 entries (ZIP64 is not written)")
        }
        var h: [UInt8] = []
        put32(&h, 0x04034b50); put16(&h, 20); put16(&h, 0); put16(&h, 0) // signature, version, flags, stored
        put16(&h, 0); put16(&h, 0x21)                                      // time, date (1980-01-01)
        put32(&h, UInt32(crc)); put32(&h, UInt32(size)); put32(&h, UInt32(size))
        put16(&h, UInt16(nameBytes.count)); put16(&h, UInt16(4 + pad))
        h += nameBytes
        put16(&h, 0x4246); put16(&h, UInt16(pad))                         // "FB" padding field
        h += [UInt8](repeating: UInt8(ascii: "Z"), count: pad)
        try handle.write(contentsOf: Data(h))
        for p in parts where !p.isEmpty { try handle.write(contentsOf: p) }

        put32(&central, 0x02014b50); put16(&central, 20); put16(&central, 20); put16(&central, 0); put16(&central, 0)
        put16(&central, 0); put16(&central, 0x21)
        put32(&central, UInt32(crc)); put32(&central, UInt32(size)); put32(&central, UInt32(size))
        put16(&central, UInt16(nameBytes.count)); put16(&central, 0); put16(&central, 0) // name, extra, comment
        put16(&central, 0); put16(&central, 0); put32(&central, 0)                        // disk, attributes
        put32(&central, UInt32(offset))
        central += nameBytes
        offset += h.count + size
        count += 1
    }

    /// Writes the central directory and the end record.
    mutating func finish() throws {
        guard offset + central.count < Int(UInt32.max) else { throw ToolkitError(.unsupported, subject: file, "archive larger than 4 GiB (ZIP64 is not written)") }
        var end: [UInt8] = []
        put32(&end, 0x06054b50); put16(&end, 0); put16(&end, 0)
        put16(&end, UInt16(count)); put16(&end, UInt16(count))
        put32(&end, UInt32(central.count)); put32(&end, UInt32(offset)); put16(&end, 0)
        try handle.write(contentsOf: Data(central + end))
    }

    private func put16(_ a: inout [UInt8], _ v: UInt16) { a += [UInt8(v & 0xff), UInt8(v >> 8)] }
    private func put32(_ a: inout [UInt8], _ v: UInt32) { for i in 0 ..< 4 { a.append(UInt8((v >> (8 * UInt32(i))) & 0xff)) } }
}
