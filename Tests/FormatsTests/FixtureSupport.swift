import Foundation
import TensorCore
import XCTest
@testable import Formats

/// Locates the committed fixtures (written by scripts/make_format_fixtures.py).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// Expected tensors: name -> (dtype, shape, values as Double).
    struct Expected { let dtype: String; let shape: [Int]; let values: [Double] }

    static func expected(_ name: String) throws -> [String: Expected] {
        let data = try Data(contentsOf: url(name))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
        return json.mapValues { e in
            Expected(dtype: e["dtype"] as! String, shape: (e["shape"] as! [NSNumber]).map(\.intValue),
                     values: (e["values"] as! [String]).map { Double($0)! })
        }
    }

    static let torchDType: [String: DType] = ["float32": .f32, "float16": .f16, "bfloat16": .bf16, "float64": .f64,
                                               "int64": .i64, "int32": .i32, "int16": .i16, "int8": .i8,
                                               "uint8": .u8, "bool": .bool]

    /// Exact values of a stored tensor as Double (f64 and i64 read directly, not through Float).
    static func values(_ t: StoredTensor) -> [Double] {
        t.bytes.withUnsafeBytes { b -> [Double] in
            switch t.dtype {
            case .f64: return (0 ..< t.count).map { Double(bitPattern: UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self))) }
            case .i64: return (0 ..< t.count).map { Double(Int64(littleEndian: b.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
            default: return t.dtype.decode(b, count: t.count).map(Double.init)
            }
        }
    }
}

/// Checks `dict` holds exactly the expected names (in order when `ordered`), dtypes, shapes and values.
func assertMatches(_ dict: StateDict, _ expected: [String: Fixtures.Expected], names: [String]? = nil,
                   file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(Set(dict.names), Set(expected.keys), file: file, line: line)
    if let names { XCTAssertEqual(dict.names, names, file: file, line: line) }
    for (name, e) in expected {
        guard let t = dict[name] else { continue }
        XCTAssertEqual(t.dtype, Fixtures.torchDType[e.dtype], "\(name) dtype", file: file, line: line)
        XCTAssertEqual(t.shape, e.shape, "\(name) shape", file: file, line: line)
        let got = Fixtures.values(t)
        let bad = zip(got, e.values).enumerated().first { $0.element.0 != $0.element.1 && !($0.element.0.isNaN && $0.element.1.isNaN) }
        XCTAssertTrue(got.count == e.values.count && bad == nil,
                      "\(name): \(got.count) values, expected \(e.values.count); first difference at \(bad.map { "\($0.offset): \($0.element.0) vs \($0.element.1)" } ?? "-")",
                      file: file, line: line)
    }
}
