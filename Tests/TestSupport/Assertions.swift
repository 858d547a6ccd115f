import XCTest

/// Asserts that `body` throws an error whose description contains every fragment.
public func assertThrows(_ fragments: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected an error containing \(fragments)", file: file, line: line)
    } catch {
        let text = "\(error)"
        for f in fragments { XCTAssert(text.contains(f), "error does not contain '\(f)':\n\(text)", file: file, line: line) }
    }
}
