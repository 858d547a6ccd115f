import CArchive
import Diagnostics
import Foundation

/// The entries of a zip archive (`.pth`, `.npz`), read through libarchive.
///
/// The archive is held in memory (a memory-mapped file); entries stored without compression are slices
/// of it (no copy), compressed ones are inflated into new buffers. Sizes are checked against the
/// archive before anything is allocated.
struct ZipArchive {
    /// Where the archive came from, for error messages.
    let file: String
    /// Entry names in archive order.
    private(set) var names: [String] = []
    private var contents: [String: Data] = [:]

    /// Most bytes all entries may inflate to, relative to the archive's size (zip-bomb guard).
    static let maxExpansion = 32
    /// Most entries read from one archive.
    static let maxEntries = 1_000_000

    /// The entry named `name`, if present.
    subscript(name: String) -> Data? { contents[name] }

    /// Reads the archive in `url` (memory-mapped).
    static func read(_ url: URL) throws -> ZipArchive {
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw ToolkitError(.missingFile, subject: url.path, "cannot read: \(error.localizedDescription)")
        }
        return try parse(data, file: url.path)
    }

    /// Reads an archive from bytes. `file` names the source in errors.
    static func parse(_ data: Data, file: String) throws -> ZipArchive {
        var zip = ZipArchive(file: file)
        guard data.count >= 22 else {
            throw ToolkitError(.invalidFile, subject: file, "not a zip archive: \(data.count) bytes, shorter than an end-of-central-directory record")
        }
        guard let a = archive_read_new() else { throw ToolkitError(.invalidFile, subject: file, "libarchive: out of memory") }
        defer { archive_read_free(a) }
        // The seekable reader trusts the central directory, which is what torch and numpy write.
        archive_read_support_format_zip_seekable(a)
        let budget = data.count * maxExpansion + (16 << 20)
        var used = 0
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let base = raw.baseAddress!
            guard archive_read_open_memory(a, base, raw.count) == ARCHIVE_OK else {
                throw ToolkitError(.invalidFile, subject: file, "not a readable zip archive (truncated, or its central directory is missing): \(message(a))")
            }
            var entry: OpaquePointer?
            while true {
                let r = archive_read_next_header(a, &entry)
                if r == ARCHIVE_EOF { break }
                guard r == ARCHIVE_OK || r == ARCHIVE_WARN, let entry else {
                    throw ToolkitError(.invalidFile, subject: file, "corrupt zip archive after \(zip.names.count) entries: \(message(a))")
                }
                guard zip.names.count < maxEntries else { throw ToolkitError(.invalidFile, subject: file, "more than \(maxEntries) entries") }
                guard let cName = archive_entry_pathname(entry) else { throw ToolkitError(.invalidFile, subject: file, "entry without a name") }
                let name = String(cString: cName)
                if archive_entry_filetype(entry) == 0o040000 { continue }  // AE_IFDIR (a macro Swift cannot import)
                let declared = archive_entry_size_is_set(entry) != 0 ? Int(archive_entry_size(entry)) : -1
                if declared > budget - used {
                    throw ToolkitError(.invalidFile, subject: file, "entry \(name) declares \(declared) bytes; the archive of \(data.count) bytes allows at most \(budget - used) more")
                }
                let content = try readEntry(a, name: name, declared: declared, base: base, archiveSize: raw.count,
                                            whole: data, budget: budget - used, file: file)
                used += content.count
                if zip.contents.updateValue(content, forKey: name) == nil { zip.names.append(name) }
            }
        }
        return zip
    }

    /// Reads the current entry. Blocks that point into the archive itself (stored entries) become a slice
    /// of `whole`; anything else is copied.
    private static func readEntry(_ a: OpaquePointer, name: String, declared: Int, base: UnsafeRawPointer,
                                  archiveSize: Int, whole: Data, budget: Int, file: String) throws -> Data {
        var copy: Data? = nil
        var sliceStart = -1, sliceEnd = -1
        while true {
            var buf: UnsafeRawPointer?
            var size = 0
            var offset: la_int64_t = 0
            let r = archive_read_data_block(a, &buf, &size, &offset)
            if r == ARCHIVE_EOF { break }
            guard r == ARCHIVE_OK || r == ARCHIVE_WARN else {
                throw ToolkitError(.invalidFile, subject: file, "entry \(name): cannot read its data: \(message(a))")
            }
            guard size > 0, let buf else { continue }
            let total = (copy?.count ?? 0) + (sliceStart >= 0 ? sliceEnd - sliceStart : 0)
            guard Int(offset) == total else {
                throw ToolkitError(.invalidFile, subject: file, "entry \(name): sparse data at offset \(offset), expected \(total)")
            }
            guard total + size <= budget, declared < 0 || total + size <= declared else {
                throw ToolkitError(.invalidFile, subject: file, "entry \(name): data longer than the \(declared < 0 ? budget : declared) bytes allowed")
            }
            let start = buf - base
            if copy == nil, start >= 0, start + size <= archiveSize, sliceStart < 0 || start == sliceEnd {
                if sliceStart < 0 { sliceStart = start }
                sliceEnd = start + size
            } else {
                if copy == nil {
                    copy = Data(capacity: declared >= 0 ? declared : total + size)
                    if sliceStart >= 0 { copy!.append(whole.subdata(in: whole.startIndex + sliceStart ..< whole.startIndex + sliceEnd)) }
                }
                copy!.append(buf.assumingMemoryBound(to: UInt8.self), count: size)
            }
        }
        let result = copy ?? (sliceStart >= 0 ? whole[(whole.startIndex + sliceStart) ..< (whole.startIndex + sliceEnd)] : Data())
        if declared >= 0, result.count != declared {
            throw ToolkitError(.invalidFile, subject: file, "entry \(name): \(result.count) bytes of data, its header declares \(declared)")
        }
        return result
    }

    private static func message(_ a: OpaquePointer) -> String {
        archive_error_string(a).map { String(cString: $0) } ?? "unknown libarchive error"
    }
}
