import Foundation

/// The toolkit's one error type: what kind of failure, the file or object concerned, and a message a
/// person can act on (expected versus found, where that applies). Printed as `subject: message`.
public struct ToolkitError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The broad cause, so callers and tests can tell failures apart without parsing messages. Modules add
    /// their own kinds in extensions (`extension ToolkitError.Kind { static let ... }`).
    public struct Kind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A file or directory that does not exist or cannot be opened.
        public static let missingFile = Kind(rawValue: "missingFile")
        /// A file that is not in the format it claims, or is damaged.
        public static let invalidFile = Kind(rawValue: "invalidFile")
        /// Something valid that this toolkit does not support.
        public static let unsupported = Kind(rawValue: "unsupported")
        /// Shapes, names or sizes that do not fit together (a checkpoint and a model, two volumes, ...).
        public static let mismatch = Kind(rawValue: "mismatch")
        /// An argument outside what the API or command accepts.
        public static let invalidArgument = Kind(rawValue: "invalidArgument")
        /// Writing or moving a file failed.
        public static let writeFailed = Kind(rawValue: "writeFailed")
        /// A check of integrity or of numbers failed (hashes, golden outputs).
        public static let verificationFailed = Kind(rawValue: "verificationFailed")
    }

    public let kind: Kind
    /// The file or object concerned ("" when there is none).
    public let subject: String
    /// What went wrong.
    public let message: String

    public init(_ kind: Kind, subject: String = "", _ message: String) {
        (self.kind, self.subject, self.message) = (kind, subject, message)
    }

    public var description: String { subject.isEmpty ? message : "\(subject): \(message)" }
}

extension ToolkitError: LocalizedError {
    public var errorDescription: String? { description }
}
