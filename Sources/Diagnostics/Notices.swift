import Foundation

/// What a person should know that is not an error (a choice the toolkit made for them, such as the state
/// dict it picked inside a training checkpoint), sent to the one handler the program installs: the CLI
/// prints notices on standard error; libraries and tests get none unless they install a handler.
public enum Notices {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var handler: (@Sendable (String) -> Void)?

    /// Sends every later notice to `handler` (nil: drop them), returning the previous handler.
    @discardableResult
    public static func install(_ handler: (@Sendable (String) -> Void)?) -> (@Sendable (String) -> Void)? {
        lock.lock(); defer { lock.unlock() }
        let old = self.handler
        self.handler = handler
        return old
    }

    /// Sends one notice (a sentence naming the file concerned) to the installed handler, if any.
    public static func post(_ message: String) {
        lock.lock()
        let h = handler
        lock.unlock()
        h?(message)
    }
}
