import CArchive
import Diagnostics
import Foundation

/// The `.tar` form of a package, through libarchive: `pack` writes the listed files (POSIX pax,
/// deterministic: fixed order, owner, mode and time), `unpack` extracts regular files and folders only,
/// refusing paths that could land outside the destination. Data streams in blocks, never whole files.
public enum TarArchive {
    /// Most entries an archive may hold.
    public static let maxEntries = 10_000
    /// Most bytes an archive may extract to (a vit_h package is about 2.6 GB).
    public static let maxTotalBytes = 32 << 30
    static let blockSize = 1 << 20

    /// Writes `paths` (relative to `directory`) into `url`, via a temporary file renamed into place.
    public static func pack(directory: URL, paths: [String], to url: URL, mtime: Int = 0) throws {
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UUID().uuidString.prefix(8))")
        guard let a = archive_write_new() else { throw ToolkitError(.writeFailed, subject: url.path, "libarchive: out of memory") }
        var closed = false
        defer { if !closed { archive_write_free(a) } }
        archive_write_set_format_pax_restricted(a)
        guard archive_write_open_filename(a, tmp.path) == ARCHIVE_OK else {
            throw ToolkitError(.writeFailed, subject: url.path, "cannot create \(tmp.lastPathComponent): \(message(a))")
        }
        do {
            for path in paths {
                let src = directory.appendingPathComponent(path)
                guard let handle = FileHandle(forReadingAtPath: src.path) else { throw ToolkitError(.missingFile, subject: src.path, "cannot open for reading") }
                defer { try? handle.close() }
                let size = try FileManager.default.attributesOfItem(atPath: src.path)[.size] as? Int ?? 0
                guard let entry = archive_entry_new() else { throw ToolkitError(.writeFailed, subject: url.path, "libarchive: out of memory") }
                defer { archive_entry_free(entry) }
                archive_entry_set_pathname(entry, path)
                archive_entry_set_size(entry, la_int64_t(size))
                archive_entry_set_filetype(entry, 0o100000)  // AE_IFREG
                archive_entry_set_perm(entry, 0o644)
                archive_entry_set_mtime(entry, time_t(mtime), 0)
                archive_entry_set_uname(entry, "root"); archive_entry_set_gname(entry, "root")
                guard archive_write_header(a, entry) == ARCHIVE_OK else { throw ToolkitError(.writeFailed, subject: url.path, "entry \(path): \(message(a))") }
                var written = 0
                while let chunk = try handle.read(upToCount: blockSize), !chunk.isEmpty {
                    let n = chunk.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) }
                    guard n == chunk.count else { throw ToolkitError(.writeFailed, subject: url.path, "entry \(path): write failed: \(message(a))") }
                    written += chunk.count
                }
                guard written == size else { throw ToolkitError(.writeFailed, subject: src.path, "changed while packing: \(written) bytes read, \(size) expected") }
            }
            guard archive_write_close(a) == ARCHIVE_OK else { throw ToolkitError(.writeFailed, subject: url.path, "cannot finish the archive: \(message(a))") }
            archive_write_free(a); closed = true
            guard rename(tmp.path, url.path) == 0 else {
                throw ToolkitError(.writeFailed, subject: url.path, "cannot rename \(tmp.lastPathComponent) into place: \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
    }

    /// Extracts the archive `url` (tar, optionally gzip/xz/zstd-compressed) into `directory`, which must
    /// exist. Returns the extracted file paths. Throws, naming the archive, on a truncated or corrupt
    /// archive, an entry that is neither a regular file nor a folder, an unsafe or duplicate path, or
    /// data shorter or longer than the entry's header says. On error, what was extracted stays in
    /// `directory` for the caller to remove.
    @discardableResult
    public static func unpack(_ url: URL, into directory: URL) throws -> [String] {
        let file = url.path
        guard FileManager.default.fileExists(atPath: file) else { throw ToolkitError(.missingFile, subject: file, "no such file") }
        guard let a = archive_read_new() else { throw ToolkitError(.invalidFile, subject: file, "libarchive: out of memory") }
        defer { archive_read_free(a) }
        archive_read_support_format_tar(a)
        archive_read_support_filter_all(a)
        guard archive_read_open_filename(a, file, blockSize) == ARCHIVE_OK else {
            throw ToolkitError(.invalidFile, subject: file, "not a readable tar archive: \(message(a))")
        }
        var paths: [String] = []
        var seen = Set<String>()
        var extracted = 0
        var buffer = [UInt8](repeating: 0, count: blockSize)
        while true {
            var entry: OpaquePointer?
            let r = archive_read_next_header(a, &entry)
            if r == ARCHIVE_EOF { break }
            guard r == ARCHIVE_OK || r == ARCHIVE_WARN, let entry else {
                throw ToolkitError(.invalidFile, subject: file, "truncated or corrupt archive after \(paths.count) files: \(message(a))")
            }
            guard seen.count < maxEntries else { throw ToolkitError(.invalidFile, subject: file, "more than \(maxEntries) entries") }
            guard let cName = archive_entry_pathname(entry) else { throw ToolkitError(.invalidFile, subject: file, "an entry without a name") }
            var name = String(cString: cName)
            while name.hasPrefix("./") { name.removeFirst(2) }
            let type = archive_entry_filetype(entry)
            if type == 0o040000 {  // AE_IFDIR
                if name.hasSuffix("/") { name.removeLast() }
                if name.isEmpty || name == "." { continue }
                if let why = PackageLayout.pathProblem(name) { throw ToolkitError(.invalidFile, subject: file, "entry '\(name)': \(why)") }
                try FileManager.default.createDirectory(at: directory.appendingPathComponent(name), withIntermediateDirectories: true)
                continue
            }
            guard archive_entry_hardlink(entry) == nil, archive_entry_symlink(entry) == nil else {
                throw ToolkitError(.invalidFile, subject: file, "entry '\(name)' is a link; a package holds only regular files and folders")
            }
            guard type == 0o100000 else {  // AE_IFREG
                throw ToolkitError(.invalidFile, subject: file, "entry '\(name)' is \(typeName(type)); a package holds only regular files and folders")
            }
            if let why = PackageLayout.pathProblem(name) { throw ToolkitError(.invalidFile, subject: file, "entry '\(name)': \(why)") }
            guard seen.insert(name).inserted else { throw ToolkitError(.invalidFile, subject: file, "entry '\(name)' appears twice") }
            let declared = archive_entry_size_is_set(entry) != 0 ? Int(archive_entry_size(entry)) : -1
            let dest = directory.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: dest.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: dest.path, contents: nil), let out = FileHandle(forWritingAtPath: dest.path) else {
                throw ToolkitError(.writeFailed, subject: dest.path, "cannot create")
            }
            defer { try? out.close() }
            var total = 0
            if declared > maxTotalBytes - extracted {
                throw ToolkitError(.invalidFile, subject: file, "entry '\(name)' declares \(declared) bytes; at most \(maxTotalBytes) may be extracted in all")
            }
            while true {
                let n = buffer.withUnsafeMutableBytes { archive_read_data(a, $0.baseAddress, $0.count) }
                if n == 0 { break }
                guard n > 0 else {
                    throw ToolkitError(.invalidFile, subject: file, "entry '\(name)': truncated or corrupt after \(total) of \(declared) bytes: \(message(a))")
                }
                total += n
                guard extracted + total <= maxTotalBytes else { throw ToolkitError(.invalidFile, subject: file, "more than \(maxTotalBytes) bytes of data") }
                guard declared < 0 || total <= declared else { throw ToolkitError(.invalidFile, subject: file, "entry '\(name)': more data than its \(declared) bytes") }
                try out.write(contentsOf: Data(buffer[0..<n]))
            }
            guard declared < 0 || total == declared else {
                throw ToolkitError(.invalidFile, subject: file, "entry '\(name)': \(total) bytes of data, its header declares \(declared) (truncated archive)")
            }
            paths.append(name)
            extracted += total
        }
        return paths
    }

    static func typeName(_ t: mode_t) -> String {
        switch t & 0o170000 {
        case 0o120000: return "a symbolic link"
        case 0o020000: return "a character device"
        case 0o060000: return "a block device"
        case 0o010000: return "a FIFO"
        case 0o140000: return "a socket"
        default: return "an entry of type \(String(t, radix: 8))"
        }
    }

    static func message(_ a: OpaquePointer) -> String {
        archive_error_string(a).map { String(cString: $0) } ?? "unknown libarchive error"
    }
}
