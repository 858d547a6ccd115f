import Diagnostics
import XCTest

/// `median` is the true median: the mean of the two middle values for an even count, not the upper one.
final class MedianTests: XCTestCase {
    func testOddEvenAndEmpty() {
        XCTAssertEqual(median([3, 1, 2]), 2)
        XCTAssertEqual(median([5.85, 5.89]), (5.85 + 5.89) / 2)
        XCTAssertEqual(median([4, 1, 3, 2]), 2.5)
        XCTAssertEqual(median([7]), 7)
        XCTAssertNil(median([]))
    }
}
