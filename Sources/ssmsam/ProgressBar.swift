import Foundation
import SAM

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
struct ProgressBar {
    let label: String
    let enabled = isatty(2) != 0

    func update(_ done: Int, _ total: Int) {
        guard enabled, total > 0 else { return }
        let width = 30, filled = width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(done)/\(total)".utf8))
    }

    func finish() { if enabled { FileHandle.standardError.write(Data("\n".utf8)) } }
}

extension ProgressBar {
    /// Runs `body` with a bar, on a terminal, for each image-encoder run inside it (its blocks, one line per run):
    /// a large encoder takes tens of seconds on a CPU, and a silent terminal looks hung.
    static func encoding<R>(_ label: String, _ body: () throws -> R) rethrows -> R {
        let bar = ProgressBar(label: label)
        guard bar.enabled else { return try body() }
        return try EncoderProgress.reporting(to: { done, total in
            bar.update(done, total)
            if done == total { bar.finish() }
        }, body)
    }
}
