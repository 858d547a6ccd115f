import Diagnostics
import Formats
import NN
import TensorCore
import XCTest

private struct Pair: Module {
    let a = Linear(64, 512)
    let b = Conv2d(8, 16, kernel: 3)
    let norm = BatchNorm2d(16)
}

/// A layer with a raw parameter and no initialiser for it.
private struct Bare: Module {
    let table = Variable(Tensor.zeros([2, 2]), requiresGrad: true)
}

final class InitializationTests: XCTestCase {
    func testSeededInitialisationIsDeterministicAndNamed() throws {
        let m1 = Pair(), m2 = Pair(), m3 = Pair()
        try m1.initialize(seed: 1)
        try m2.initialize(seed: 1)
        try m3.initialize(seed: 2)
        XCTAssertEqual(m1.stateDict(), m2.stateDict(), "same seed, same values bit for bit")
        XCTAssertNotEqual(m1.a.weight.value, m3.a.weight.value)
        // Each parameter has its own stream: initialising one alone gives the value it gets with all the others.
        let alone = Pair()
        try alone.initialize(seed: 1, only: ["b.weight"])
        XCTAssertEqual(alone.b.weight.value, m1.b.weight.value)
        XCTAssertEqual(alone.a.weight.value, Tensor.zeros([512, 64]), "parameters outside `only` are left alone")
    }

    func testLayerDefaultsFollowPyTorch() throws {
        let m = Pair()
        try m.initialize(seed: 3)
        // nn.Linear: kaiming_uniform(a=sqrt 5) -> U(±1/sqrt(fan_in)); bias U(±1/sqrt(fan_in)).
        let bound: Float = 1 / 8
        XCTAssertLessThanOrEqual(m.a.weight.value.maxAbs, bound)
        XCTAssertGreaterThan(m.a.weight.value.maxAbs, 0.99 * bound)
        XCTAssertLessThanOrEqual(m.a.bias!.value.maxAbs, bound)
        let w = m.a.weight.value.data
        let variance = w.map { Double($0 * $0) }.reduce(0, +) / Double(w.count)
        // U(-b, b) has variance b²/3; 32768 samples give a relative standard error of about 0.5%.
        XCTAssertEqual(variance, Double(bound * bound) / 3, accuracy: 0.03 * Double(bound * bound) / 3)
        XCTAssertLessThanOrEqual(m.b.weight.value.maxAbs, 1 / Float(72).squareRoot())
        XCTAssertEqual(m.norm.runningVar.value, Tensor.ones([16]), "BatchNorm's running variance starts at 1")
        XCTAssertEqual(m.norm.runningMean.value, Tensor.zeros([16]))
        XCTAssertEqual(m.norm.weight.value, Tensor.ones([16]))
    }

    func testLenientLoadThenInitialiseTheRest() throws {
        let source = Pair()
        try source.initialize(seed: 5)
        var partial = source.stateDict()
        partial["a.bias"] = nil
        partial["b.weight"] = nil
        let m = Pair()
        let report = try m.load(partial, file: "partial.safetensors", strict: false)
        XCTAssertEqual(Set(report.unbound), ["a.bias", "b.weight"])
        try m.initialize(seed: 9, only: Set(report.unbound))
        XCTAssertEqual(m.a.weight.value, source.a.weight.value, "bound tensors keep the checkpoint's values")
        XCTAssertNotEqual(m.b.weight.value, Tensor.zeros(m.b.weight.shape), "unbound ones are initialised")
        XCTAssertNotEqual(m.b.weight.value, source.b.weight.value)
    }

    func testAParameterWithoutInitialiserIsAnError() {
        XCTAssertThrowsError(try Bare().initialize(seed: 0)) { e in
            XCTAssertEqual((e as? ToolkitError)?.kind, .unsupported)
            XCTAssertTrue("\(e)".contains("no initialiser for: table"), "\(e)")
        }
    }
}
