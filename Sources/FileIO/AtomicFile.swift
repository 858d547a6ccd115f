import Diagnostics
import Foundation

/// Writes files so that a failure never leaves a half file: the content goes to a temporary name in the
/// destination's folder and is renamed into place only when complete.
public enum AtomicFile {
    /// Calls `body` with a handle on a temporary file, then renames it to `url`. On any error the
    /// temporary file is removed and the destination is left as it was. Failures to create or rename the
    /// file are `ToolkitError`s of kind `.writeFailed`.
    public static func write(to url: URL, _ body: (FileHandle) throws -> Void) throws {
        try replace(url) { tmp in
            guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
                throw ToolkitError(.writeFailed, subject: url.path, "cannot create a temporary file in \(tmp.deletingLastPathComponent().path)")
            }
            let handle = try FileHandle(forWritingTo: tmp)
            do {
                try body(handle)
                try handle.synchronize()
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
        }
    }

    /// Calls `body` with a temporary path beside `url` for a writer that opens files itself (C libraries),
    /// then renames it to `url`. On any error the temporary file is removed.
    public static func replace(_ url: URL, _ body: (URL) throws -> Void) throws {
        let dir = url.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw ToolkitError(.writeFailed, subject: url.path, "the folder \(dir.path) does not exist")
        }
        sweepStaleTemporaries(of: url)
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))")
        let token = InterruptCleanup.register(tmp)
        defer { InterruptCleanup.forget(token) }
        do {
            try body(tmp)
            if rename(tmp.path, url.path) != 0 {
                throw ToolkitError(.writeFailed, subject: url.path, "cannot rename \(tmp.lastPathComponent) into place: \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
    }

    /// Removes the temporaries that writers of `url` left when their process died without cleaning up
    /// (SIGKILL, power loss): only names of this writer's own form, `.NAME.tmp-PID-XXXXXXXX`, and only when
    /// process PID no longer exists. Anything else beside `url` is never touched.
    public static func sweepStaleTemporaries(of url: URL) {
        let dir = url.deletingLastPathComponent(), prefix = ".\(url.lastPathComponent).tmp-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return }
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
            guard rest.count == 2, rest[1].count == 8, rest[1].allSatisfy({ $0.isHexDigit }), let pid = Int32(rest[0]), pid > 0 else { continue }
            // kill(pid, 0) fails with ESRCH only when no such process exists (EPERM: it exists, not ours).
            if kill(pid, 0) != 0 && errno == ESRCH { try? FileManager.default.removeItem(at: dir.appendingPathComponent(name)) }
        }
    }

    /// Writes `data` to `url` atomically.
    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { try $0.write(contentsOf: data) }
    }
}
