/// Errors raised by the tensor core for invalid shapes or arguments. Messages name every shape involved.
public struct TensorError: Error, CustomStringConvertible, Equatable {
    /// What went wrong, with the shapes involved.
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Fails with the error's message: used where an invalid shape is a programming error.
@inline(never)
func shapeFailure(_ error: Error) -> Never {
    preconditionFailure("\(error)")
}

/// Runs a shape check that throws, turning its error into a precondition failure with the same message.
@inline(__always)
func checked<T>(_ body: () throws -> T) -> T {
    do { return try body() } catch { shapeFailure(error) }
}
