import Foundation

/// Writes files so that a failure never leaves a half file: the content goes to a temporary name in the
/// destination's folder and is renamed into place only when complete.
public enum AtomicFile {
    /// Calls `body` with a handle on a temporary file, then renames it to `url`. On any error the
    /// temporary file is removed and the destination is left as it was.
    public static func write(to url: URL, _ body: (FileHandle) throws -> Void) throws {
        let dir = url.deletingLastPathComponent()
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))")
        guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
            throw FormatError(file: url.path, "cannot create a temporary file in \(dir.path)")
        }
        do {
            let handle = try FileHandle(forWritingTo: tmp)
            do {
                try body(handle)
                try handle.synchronize()
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
            if rename(tmp.path, url.path) != 0 {
                throw FormatError(file: url.path, "cannot rename \(tmp.lastPathComponent) into place: \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
    }

    /// Writes `data` to `url` atomically.
    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { try $0.write(contentsOf: data) }
    }
}
