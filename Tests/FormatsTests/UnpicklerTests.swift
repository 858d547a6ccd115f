import Foundation
import XCTest
@testable import Formats

/// Hand-written pickles for the unpickler's edge cases (found by fuzzing or read from pickletools).
final class UnpicklerTests: XCTestCase {
    private func load(_ bytes: [UInt8]) throws -> PickleValue { try Unpickler.load(Data(bytes), file: "t.pkl") }

    func testSelfReferencingListIsRefused() {
        // EMPTY_LIST, BINPUT 0, BINGET 0, APPEND, STOP: a list that contains itself.
        XCTAssertThrowsError(try load([0x80, 2, 0x5d, 0x71, 0, 0x68, 0, 0x61, 0x2e])) { e in
            XCTAssertTrue("\(e)".contains("inside itself"), "\(e)")
        }
    }

    func testDeepNestingIsRefused() {
        let bytes: [UInt8] = [0x80, 2, 0x4e] + [UInt8](repeating: 0x85, count: 300) + [0x2e]
        XCTAssertThrowsError(try load(bytes)) { e in XCTAssertTrue("\(e)".contains("nested deeper"), "\(e)") }
    }

    func testDeepChainBuiltAfterInsertionIsRefused() {
        // 300 lists, each memoised and appended (while still empty) to the previous one.
        var b: [UInt8] = [0x80, 2, 0x5d, 0x72, 0, 0, 0, 0]            // list 0 -> memo 0
        for i in 1 ..< 300 {
            b += [0x5d, 0x72] + withUnsafeBytes(of: UInt32(i).littleEndian, Array.init)  // list i -> memo i
            b += [0x30]                                                                   // POP
            b += [0x6a] + withUnsafeBytes(of: UInt32(i - 1).littleEndian, Array.init)    // get list i-1
            b += [0x6a] + withUnsafeBytes(of: UInt32(i).littleEndian, Array.init)        // get list i
            b += [0x61, 0x30]                                                             // APPEND, POP
        }
        b += [0x2e]
        XCTAssertThrowsError(try load(b)) { e in XCTAssertTrue("\(e)".contains("nested deeper"), "\(e)") }
    }

    func testProtocol4FramingAndScalars() throws {
        // PROTO 4, FRAME, EMPTY_DICT, MEMOIZE, MARK, SHORT_BINUNICODE 'a', BINFLOAT 1.5,
        // SHORT_BINUNICODE 'b', LONG1 -2, SHORT_BINUNICODE 'c', NEWTRUE, SETITEMS, STOP
        var b: [UInt8] = [0x80, 4, 0x95] + [UInt8](repeating: 0, count: 8)
        b += [0x7d, 0x94, 0x28, 0x8c, 1, 0x61, 0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]
        b += [0x8c, 1, 0x62, 0x8a, 1, 0xfe, 0x8c, 1, 0x63, 0x88, 0x75, 0x2e]
        guard case .dict(let d) = try load(b) else { return XCTFail("not a dict") }
        guard case .float(let f)? = d["a"], case .int(let i)? = d["b"], case .bool(let t)? = d["c"] else { return XCTFail("values") }
        XCTAssertEqual(f, 1.5); XCTAssertEqual(i, -2); XCTAssertTrue(t)
    }

    func testTruncatedPickle() {
        XCTAssertThrowsError(try load([0x80, 2, 0x58, 0xff, 0, 0, 0, 0x61])) { e in XCTAssertTrue("\(e)".contains("truncated"), "\(e)") }
    }
}
