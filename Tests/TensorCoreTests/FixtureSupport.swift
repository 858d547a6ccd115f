import Foundation
import XCTest
import Formats
import TensorCore

/// A parity case written by scripts/make_fixtures.py with real PyTorch.
struct Fixture {
    let name: String
    let tensors: [String: Tensor]
    let params: [String: Any]

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    init(_ name: String) throws {
        self.name = name
        let (dict, meta) = try SafeTensors.read(Fixture.directory.appendingPathComponent("\(name).safetensors"))
        var t: [String: Tensor] = [:]
        for (k, v) in dict.entries { t[k] = v.floatTensor }
        tensors = t
        params = (try? JSONSerialization.jsonObject(with: Data((meta["params"] ?? "{}").utf8)) as? [String: Any]) ?? [:]
    }

    struct Missing: Error, CustomStringConvertible { let description: String }

    /// A tensor of the fixture; throws (failing the test) when it is missing.
    func tensor(_ key: String) throws -> Tensor {
        guard let t = tensors[key] else { throw Missing(description: "fixture \(name) has no tensor \(key)") }
        return t
    }

    /// Input `key` as a leaf that requires a gradient.
    func input(_ key: String) throws -> Variable { Variable(try tensor("in.\(key)"), requiresGrad: true, name: key) }

    /// Parameters: a missing or mistyped one stops the test (precondition) rather than defaulting silently.
    func ints(_ key: String) -> [Int] {
        guard let v = (params[key] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }) else { preconditionFailure("fixture \(name): no int list '\(key)'") }
        return v
    }
    func int(_ key: String) -> Int {
        guard let v = (params[key] as? NSNumber)?.intValue else { preconditionFailure("fixture \(name): no int '\(key)'") }
        return v
    }
    func float(_ key: String) -> Float {
        guard let v = (params[key] as? NSNumber)?.floatValue else { preconditionFailure("fixture \(name): no number '\(key)'") }
        return v
    }
    /// Flags default to false (the fixtures only write the ones that are set).
    func bool(_ key: String) -> Bool { (params[key] as? Bool) ?? false }
}

/// Asserts |actual - expected| <= tolerance * max(1, |expected|) element-wise (the parity rule).
func assertClose(_ actual: Tensor, _ expected: Tensor, tolerance: Float, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    guard actual.shape == expected.shape else {
        XCTFail("\(what): shape \(actual.shape), expected \(expected.shape)", file: file, line: line); return
    }
    var worst: Float = 0, at = 0
    for i in 0..<actual.count {
        let err = abs(actual.data[i] - expected.data[i]) / max(1, abs(expected.data[i]))
        if !(err <= worst) { worst = err; at = i }  // NaN counts as worst
    }
    XCTAssert(worst <= tolerance,
              "\(what): error \(worst) at element \(at) (got \(actual.data[at]), expected \(expected.data[at])) exceeds \(tolerance)",
              file: file, line: line)
}

/// Runs a differentiable op on the fixture's inputs and checks the output and every input gradient.
func checkCase(_ name: String, inputs: [String], forwardTolerance: Float = 1e-5, gradTolerance: Float = 1e-4,
               level: String? = nil, file: StaticString = #filePath, line: UInt = #line,
               _ op: (Fixture, [String: Variable]) -> Variable) throws {
    let f = try Fixture(name)
    let name = level.map { "\(name) (\($0) kernels)" } ?? name
    var vars: [String: Variable] = [:]
    for k in inputs { vars[k] = try f.input(k) }
    let out = op(f, vars)
    assertClose(out.value, try f.tensor("out"), tolerance: forwardTolerance, "\(name) forward", file: file, line: line)
    out.backward(try f.tensor("grad_out"))
    for k in inputs {
        guard let expected = f.tensors["grad.\(k)"] else { XCTFail("\(name): fixture has no grad.\(k)", file: file, line: line); continue }
        guard let g = vars[k]!.grad else { XCTFail("\(name): no gradient for \(k)", file: file, line: line); continue }
        assertClose(g, expected, tolerance: gradTolerance, "\(name) grad \(k)", file: file, line: line)
    }
}
