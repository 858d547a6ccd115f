/// A zoo operation that failed: the file involved and what was expected versus found.
public struct ZooError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let message: String
    public init(file: String, _ message: String) { (self.file, self.message) = (file, message) }
    public var description: String { file.isEmpty ? message : "\(file): \(message)" }
}
