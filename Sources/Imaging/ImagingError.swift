import Foundation

/// An image could not be read or written. The message always names the file.
public struct ImagingError: Error, CustomStringConvertible, Equatable {
    /// The file concerned (empty for in-memory operations).
    public let file: String
    /// What went wrong, including expected vs actual values where that applies.
    public let reason: String

    public init(file: String, _ reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { file.isEmpty ? reason : "\(file): \(reason)" }
}

extension ImagingError: LocalizedError {
    public var errorDescription: String? { description }
}
