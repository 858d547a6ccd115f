import Crypto
import Diagnostics
import Foundation
import Formats

/// SHA-256 of files and bytes (swift-crypto), as lowercase hex. Files are read in chunks, so hashing a
/// multi-gigabyte checkpoint needs a few megabytes of memory.
public enum FileDigest {
    /// Bytes read per step when hashing a file.
    static let chunkSize = 4 << 20

    /// The SHA-256 of the file at `url` and its size in bytes. For a Hugging Face folder: of its weight files
    /// (`HuggingFaceFolder.weightFiles`, shards in name order) read as one stream, and their total size.
    public static func sha256(of url: URL) throws -> (hex: String, size: Int) {
        var hasher = SHA256()
        var size = 0
        for file in HuggingFaceFolder.isFolder(url) ? try HuggingFaceFolder.weightFiles(in: url) : [url] {
            size += try hash(file, into: &hasher)
        }
        return (hex(hasher.finalize()), size)
    }

    /// Feeds the file's bytes to `hasher`; returns their count.
    static func hash(_ url: URL, into hasher: inout SHA256) throws -> Int {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw ToolkitError(.missingFile, subject: url.path, "cannot open for reading (missing or unreadable)")
        }
        defer { try? handle.close() }
        var size = 0
        while true {
            let chunk: Data?
            do { chunk = try handle.read(upToCount: chunkSize) } catch {
                throw ToolkitError(.invalidFile, subject: url.path, "read error after \(size) bytes: \(error.localizedDescription)")
            }
            guard let chunk, !chunk.isEmpty else { break }
            hasher.update(data: chunk)
            size += chunk.count
        }
        return size
    }

    /// The SHA-256 of `data`.
    public static func sha256(_ data: Data) -> String { hex(SHA256.hash(data: data)) }

    private static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
