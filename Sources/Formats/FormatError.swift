/// A file that cannot be read or written, with the file, the tensor (when one is involved) and what
/// was expected versus found.
public struct FormatError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let message: String
    public init(file: String, _ message: String) {
        self.file = file
        self.message = message
    }
    public var description: String { "\(file): \(message)" }
}
