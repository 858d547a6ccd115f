import Foundation

/// A volume, label map, dataset or protocol request could not be honoured. The message names the file
/// (when there is one) and, where it applies, what was expected and what was found.
public struct MedicalDataError: Error, CustomStringConvertible, Equatable {
    /// The broad cause, so callers and tests can tell failures apart without parsing messages.
    public enum Kind: String, Sendable {
        case missingFile, notNIfTI, corruptData, unsupported, gridMismatch, unknownOrgan, invalidLabels,
             invalidArgument, invalidManifest
    }

    public let kind: Kind
    /// The file concerned, or empty.
    public let file: String
    public let reason: String

    public init(_ kind: Kind, file: String = "", _ reason: String) {
        self.kind = kind
        self.file = file
        self.reason = reason
    }

    public var description: String { file.isEmpty ? reason : "\(file): \(reason)" }
}

extension MedicalDataError: LocalizedError {
    public var errorDescription: String? { description }
}
