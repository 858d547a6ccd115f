import Diagnostics
import FileIO
import Foundation

/// A folder written all or nothing: built under a temporary name beside its destination (removed on failure
/// and on Ctrl-C), then renamed into place.
enum OutputFolder {
    /// Builds a folder under a temporary name beside `directory`, then renames it into place.
    /// Runs `body` on the temporary folder; `directory` must not exist or be empty.
    static func assemble(_ directory: URL, _ body: (URL) throws -> Void) throws {
        let fm = FileManager.default
        if let existing = try? fm.contentsOfDirectory(atPath: directory.path), !existing.isEmpty {
            throw ToolkitError(.invalidArgument, subject: directory.path, "already exists and is not empty")
        }
        let tmp = directory.deletingLastPathComponent().appendingPathComponent(".\(directory.lastPathComponent).tmp-\(getpid())-\(UUID().uuidString.prefix(8))")
        do { try fm.createDirectory(at: tmp, withIntermediateDirectories: true) } catch {
            throw ToolkitError(.writeFailed, subject: directory.path, "cannot create a folder in \(tmp.deletingLastPathComponent().path): \(FileErrors.reason(error))")
        }
        let token = InterruptCleanup.register(tmp)
        defer { InterruptCleanup.forget(token) }
        do {
            try body(tmp)
            if fm.fileExists(atPath: directory.path) { try fm.removeItem(at: directory) }  // empty, checked above
            guard rename(tmp.path, directory.path) == 0 else {
                throw ToolkitError(.writeFailed, subject: directory.path, "cannot rename \(tmp.lastPathComponent) into place: \(String(cString: strerror(errno)))")
            }
        } catch {
            try? fm.removeItem(at: tmp)
            throw error
        }
    }
}
