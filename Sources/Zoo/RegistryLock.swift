import Diagnostics
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An advisory lock on a file (`flock`): exclusive for changes, shared for reads. It serialises
/// registry operations between processes and between `Registry` instances in one process (each
/// opens the file itself, and flock locks belong to the open file).
struct RegistryLock {
    let url: URL

    /// Runs `body` holding the lock; waits for other holders.
    func withLock<T>(exclusive: Bool, _ body: () throws -> T) throws -> T {
        var fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        // A read-only registry (e.g. one shared by a team) can still be read under a shared lock.
        if fd < 0 && !exclusive { fd = open(url.path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw ToolkitError(.writeFailed, subject: url.path, "cannot open the registry lock: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        while flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0 {
            guard errno == EINTR else { throw ToolkitError(.writeFailed, subject: url.path, "cannot lock the registry: \(String(cString: strerror(errno)))") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}
