import Foundation

/// Replaces a file atomically: the content is written to a temporary file beside the destination
/// (same file system, so `rename` is atomic) and renamed into place only when complete.
enum AtomicWrite {
    static func replace(_ url: URL, _ body: (URL) throws -> Void) throws {
        let dir = url.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw ImagingError(file: url.path, "the folder \(dir.path) does not exist")
        }
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UUID().uuidString.prefix(8))")
        do {
            try body(tmp)
            if rename(tmp.path, url.path) != 0 {
                throw ImagingError(file: url.path, "cannot rename the temporary file into place: \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
    }
}
