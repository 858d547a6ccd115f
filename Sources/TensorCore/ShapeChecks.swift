
// Shape errors of the tensor core are `ToolkitError`s (kind `.mismatch`, or `.invalidArgument` for a
// malformed request) whose messages name every shape involved.

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
