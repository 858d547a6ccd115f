import Dispatch
import Foundation

/// Removes the toolkit's own temporary files and folders when the process is interrupted (Ctrl-C, SIGTERM),
/// then exits at once with 128 + the signal: a write in progress leaves nothing behind. Only registered paths are
/// removed, so nothing the toolkit did not create is touched.
public enum InterruptCleanup {
    private static let lock = NSLock()
    private static var paths: [Int: URL] = [:]
    private static var next = 0
    private static var sources: [DispatchSourceSignal] = []

    /// Registers `url` (a temporary the caller created) for removal on interrupt; returns the token that
    /// `forget` takes once the temporary is renamed into place or removed.
    @discardableResult
    public static func register(_ url: URL) -> Int {
        lock.lock(); defer { lock.unlock() }
        installIfNeeded()
        next += 1
        paths[next] = url
        return next
    }

    /// The temporary of `token` is gone or in place: no longer removed on interrupt.
    public static func forget(_ token: Int) {
        lock.lock(); paths[token] = nil; lock.unlock()
    }

    private static func installIfNeeded() {
        guard sources.isEmpty else { return }
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)  // delivered to the dispatch source instead of killing the process
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                lock.lock()
                let pending = Array(paths.values)
                lock.unlock()
                for url in pending { try? FileManager.default.removeItem(at: url) }
                FileHandle.standardError.write(Data("\ninterrupted: removed \(pending.count) temporary file(s)\n".utf8))
                _exit(128 + sig)  // not exit(): atexit handlers and destructors would race the threads still computing
            }
            source.resume()
            sources.append(source)
        }
    }
}
