import Diagnostics
import Formats
import NN
import TensorCore
import XCTest

/// A two-layer model whose names and layout mirror a small checkpoint.
private struct Tiny: Module {
    static let checkpointKeys = ["first": "layers.0", "second": "layers.1", "scale": "scale"]
    let first = Linear(3, 4)
    let second = Linear(4, 2, bias: false)
    let norm = LayerNorm(4)
    let stats = BatchNorm2d(2)
    let heads = [Linear(2, 2), Linear(2, 1)]
    let scale: Variable? = nil

    func callAsFunction(_ x: Variable) -> Variable { heads[1](heads[0](second(norm(first(x)).relu()))) }
}

final class ParameterTreeTests: XCTestCase {
    private func checkpoint(_ model: Tiny) -> StateDict {
        var d = StateDict()
        for t in model.namedTensors() {
            d[t.name] = StoredTensor(Tensor(shape: t.value.shape, data: (0..<t.value.count).map { Float($0 % 7) * 0.1 + 0.05 }))
        }
        return d
    }

    func testNamesFollowTheCheckpointLayout() {
        let names = Tiny().namedTensors().map(\.name)
        XCTAssertEqual(names, ["layers.0.weight", "layers.0.bias", "layers.1.weight", "norm.weight", "norm.bias",
                               "stats.weight", "stats.bias", "stats.running_mean", "stats.running_var",
                               "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias"])
        XCTAssertEqual(Tiny().namedBuffers().map(\.name), ["stats.running_mean", "stats.running_var"])
        XCTAssertEqual(Tiny().parameters.count, 11)
    }

    func testStrictLoadBindsEverythingAndNamesParameters() throws {
        let m = Tiny()
        let d = checkpoint(m)
        let report = try m.load(d, file: "tiny.safetensors")
        XCTAssertTrue(report.isComplete)
        XCTAssertEqual(m.first.weight.value, d["layers.0.weight"]!.floatTensor)
        XCTAssertEqual(m.stats.runningVar.value, d["stats.running_var"]!.floatTensor)
        XCTAssertEqual(m.heads[1].bias!.name, "heads.1.bias")
    }

    func testStrictLoadListsEveryProblemAndBindsNothing() {
        let m = Tiny()
        var d = checkpoint(m)
        d["layers.0.bias"] = nil
        d["norm.weight"] = StoredTensor(Tensor.zeros([5]))
        d["extra.weight"] = StoredTensor(Tensor.zeros([1]))
        d["stats.num_batches_tracked"] = StoredTensor(Tensor.zeros([1]))
        XCTAssertThrowsError(try m.load(d, file: "tiny.safetensors")) { error in
            let e = error as! ToolkitError
            XCTAssertEqual(e.kind, .mismatch)
            XCTAssertEqual(e.subject, "tiny.safetensors")
            XCTAssertTrue(e.message.contains("missing 1: layers.0.bias [4]"), e.message)
            XCTAssertTrue(e.message.contains("norm.weight: expected [4], found [5]"), e.message)
            XCTAssertTrue(e.message.contains("unexpected 1: extra.weight"), e.message)
            XCTAssertFalse(e.message.contains("num_batches_tracked"), e.message)
        }
        XCTAssertEqual(m.first.weight.value, Tensor.zeros([4, 3]), "a failed strict load must bind nothing")
    }

    func testLenientLoadBindsWhatFitsAndReportsTheRest() throws {
        let m = Tiny()
        var d = checkpoint(m)
        d["layers.0.bias"] = nil
        d["norm.weight"] = StoredTensor(Tensor.zeros([5]))
        let report = try m.load(d, file: "tiny", strict: false)
        XCTAssertEqual(report.unbound, ["layers.0.bias", "norm.weight"])
        XCTAssertEqual(m.first.weight.value, d["layers.0.weight"]!.floatTensor)
        XCTAssertEqual(m.norm.weight.value, Tensor.ones([4]), "a misshaped tensor is not bound")
    }

    func testPrefixLoadsASubtree() throws {
        let m = Tiny()
        var d = StateDict()
        for (name, t) in checkpoint(m).entries { d["model.\(name)"] = t }
        d["other.weight"] = StoredTensor(Tensor.zeros([1]))  // outside the prefix: not unexpected
        XCTAssertTrue(try m.load(d, file: "f", prefix: "model").isComplete)
        XCTAssertEqual(m.first.bias!.name, "model.layers.0.bias")
    }

    func testFreezingByPrefixStopsGradientsButNotTheirFlow() throws {
        let m = Tiny()
        try m.load(checkpoint(m), file: "f")
        XCTAssertEqual(m.freeze(["layers"]), 3)
        XCTAssertEqual(m.trainableParameters().map(\.name), ["norm.weight", "norm.bias", "stats.weight", "stats.bias",
                                                            "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias"])
        let x = Variable(Tensor(shape: [2, 3], data: [0.3, -0.2, 0.9, 1.1, 0.4, -0.7]), requiresGrad: true)
        m(x).sum().backward()
        XCTAssertNil(m.first.weight.grad, "a frozen parameter gets no gradient")
        XCTAssertNil(m.second.weight.grad)
        XCTAssertNotNil(m.norm.weight.grad, "a parameter after the frozen layer still gets one")
        XCTAssertNotNil(x.grad, "gradients flow through frozen layers to the input")
        XCTAssertGreaterThan(x.grad!.maxAbs, 0)
        // `layers.1` must not cover `layers.10`-style names, and unfreezing restores training.
        XCTAssertEqual(m.unfreeze(["layers.1"]), 1)
        XCTAssertTrue(m.second.weight.requiresGrad)
        XCTAssertFalse(m.first.weight.requiresGrad)
    }

    func testSnapshotAndRestore() throws {
        let m = Tiny()
        try m.load(checkpoint(m), file: "f")
        let saved = m.snapshot()
        let before = m.first.weight.value
        m.first.weight.assign(Tensor(shape: [4, 3], repeating: 9))
        m.stats.runningMean.value = Tensor(shape: [2], repeating: 9)
        try m.restore(saved)
        XCTAssertEqual(m.first.weight.value, before)
        XCTAssertEqual(m.stats.runningMean.value, saved.values["stats.running_mean"])
        m.freeze(["layers", "norm", "stats"])
        XCTAssertEqual(Set(m.snapshot(trainableOnly: true).values.keys),
                       ["heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias"])
        var wrong = saved
        wrong.values["layers.0.weight"] = Tensor.zeros([2])
        wrong.values["nope"] = Tensor.zeros([1])
        XCTAssertThrowsError(try m.restore(wrong)) { e in
            XCTAssertTrue("\(e)".contains("layers.0.weight: model [4, 3], snapshot [2]") && "\(e)".contains("nope"), "\(e)")
        }
        XCTAssertEqual(m.first.weight.value, before, "a failed restore changes nothing")
    }

    func testExportRoundTripTrainableAndDelta() throws {
        let m = Tiny()
        let base = checkpoint(m)
        try m.load(base, file: "f")
        let all = m.stateDict()
        XCTAssertEqual(all, base, "export of a loaded model is the checkpoint, in order")
        let other = Tiny()
        XCTAssertTrue(try other.load(all, file: "export").isComplete)
        XCTAssertEqual(other.stateDict(), all)

        m.freeze()
        m.unfreeze(["heads"])
        XCTAssertEqual(m.stateDict(.trainable).names, ["heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias"])
        m.heads[1].bias!.assign(Tensor(shape: [1], data: [42]))
        let delta = m.stateDict(.delta(against: base))
        XCTAssertEqual(delta.names, ["heads.1.bias"])
        // A delta applied leniently over the base reproduces the model.
        let rebuilt = Tiny()
        try rebuilt.load(base, file: "base")
        XCTAssertEqual(try rebuilt.load(delta, file: "delta", strict: false).bound, ["heads.1.bias"])
        XCTAssertEqual(rebuilt.stateDict(), m.stateDict())
    }

    func testGroups() {
        let m = Tiny()
        m.assignNames()
        XCTAssertEqual(m.parameterGroups(.layer).map(\.name), ["layers.0", "layers.1", "norm", "stats", "heads.0", "heads.1"])
        XCTAssertEqual(m.parameterGroups(.layer)[0].parameters.map(\.name), ["layers.0.weight", "layers.0.bias"])
        XCTAssertEqual(m.parameterGroups(.parameter).count, 11)
        let byPrefix = m.parameterGroups(.prefixes(["heads", "layers"]))
        XCTAssertEqual(byPrefix.map(\.name), ["layers", "heads"])
        XCTAssertEqual(byPrefix.map { $0.parameters.count }, [3, 4])
        m.freeze(["heads.1"])
        XCTAssertEqual(m.parameterGroups(.layer).map(\.name).last, "heads.0", "frozen parameters are left out by default")
    }
}
