import FileIO
import Foundation
import XCTest

/// Foundation's file errors become words (`FileErrors`), not `Error Domain=NSCocoaErrorDomain Code=642`.
final class FileErrorsTests: XCTestCase {
    func testCocoaCodesAndPOSIXCausesReadAsWords() {
        let readOnly = NSError(domain: NSCocoaErrorDomain, code: NSFileWriteVolumeReadOnlyError, userInfo: [NSFilePathErrorKey: "/mnt/ro/out"])
        XCTAssertEqual(FileErrors.describe(readOnly), "/mnt/ro/out: the volume is read-only")
        let posix = NSError(domain: NSPOSIXErrorDomain, code: Int(EROFS))
        let wrapped = NSError(domain: NSCocoaErrorDomain, code: NSFileWriteUnknownError,
                              userInfo: [NSUnderlyingErrorKey: posix, NSURLErrorKey: URL(fileURLWithPath: "/mnt/ro/x")])
        XCTAssertEqual(FileErrors.describe(wrapped), "/mnt/ro/x: \(String(cString: strerror(EROFS)))")
    }

    /// A real failure: a folder cannot be made inside a file (root included, unlike permission bits).
    func testARealFailureNamesThePathAndCause() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("file-errors-\(UUID().uuidString)")
        try Data([1]).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        XCTAssertThrowsError(try FileManager.default.createDirectory(at: file.appendingPathComponent("out"), withIntermediateDirectories: true)) { e in
            let text = FileErrors.describe(e)
            XCTAssertTrue(text.hasPrefix(file.appendingPathComponent("out").path + ": "), text)
            XCTAssertTrue(text.hasSuffix("\(file.path) is a file, not a folder"), text)
        }
    }
}
