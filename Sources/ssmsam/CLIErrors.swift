import ArgumentParser
import Diagnostics
import FileIO
import Foundation

/// Turns any error of the libraries into one line on stderr and exit code 1: no stack trace, and no
/// partial output (every writer in the toolkit is atomic). Argument-parser exits pass through.
enum CLIErrors {
    static func report<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as ExitCode { throw e } catch let e as CleanExit { throw e }
        catch let e as ValidationError { throw e } catch {
            // Foundation's own errors (a file system refusing a write) in words, not `Error Domain=... Code=642`.
            let text = error is ToolkitError ? "\(error)" : (error as NSError).domain == "NSCocoaErrorDomain" || (error as NSError).domain == NSPOSIXErrorDomain
                ? FileErrors.describe(error) : "\(error)"
            FileHandle.standardError.write(Data("error: \(text)\n".utf8))
            throw ExitCode.failure
        }
    }
}
