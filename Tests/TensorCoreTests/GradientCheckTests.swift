import XCTest
import TensorCore

/// Finite-difference checks of the autodiff rules, independent of the PyTorch fixtures.
/// Central differences of loss = sum(out * g) in Float32 with step h; the tolerance covers the
/// O(h^2) truncation and Float32 rounding of smooth ops.
final class GradientCheckTests: XCTestCase {
    /// Seeded, so that a failure can be reproduced.
    private var rng = SeededGenerator(seed: 0x5EED)

    private func random(_ shape: [Int], scale: Float = 1) -> Tensor {
        rng.uniform(shape, low: -scale, high: scale)
    }

    /// Compares the analytic gradient of each input with central differences on a sample of elements.
    private func check(_ what: String, _ inputs: [Tensor], h: Float = 1e-2, tolerance: Float = 2e-2,
                       _ op: ([Variable]) -> Variable) {
        let vars = inputs.map { Variable($0, requiresGrad: true) }
        let out = op(vars)
        let g = random(out.shape)
        out.backward(g)
        func loss(_ xs: [Tensor]) -> Double {
            let y = Variable.noGrad { op(xs.map { Variable($0) }) }.value
            return zip(y.data, g.data).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        for (k, x) in inputs.enumerated() {
            let analytic = vars[k].grad!
            for i in stride(from: 0, to: x.count, by: max(1, x.count / 12)) {
                var plus = inputs, minus = inputs
                plus[k].data[i] += h; minus[k].data[i] -= h
                let numeric = Float((loss(plus) - loss(minus)) / Double(2 * h))
                let err = abs(numeric - analytic.data[i]) / max(1, abs(numeric))
                XCTAssertLessThanOrEqual(err, tolerance, "\(what): input \(k) element \(i): analytic \(analytic.data[i]) vs numeric \(numeric)")
            }
        }
    }

    func testProductsAndArithmetic() {
        check("matmul", [random([2, 3, 4]), random([4, 5])]) { Variable.matmul($0[0], $0[1]) }
        check("matmul ᵀ", [random([2, 4, 3]), random([2, 5, 4])]) { Variable.matmul($0[0], $0[1], transposeA: true, transposeB: true) }
        check("linear", [random([3, 6]), random([4, 6]), random([4])]) { Variable.linear($0[0], weight: $0[1], bias: $0[2]) }
        check("div", [random([3, 4]), random([4], scale: 0.5) + 2]) { $0[0] / $0[1] }
        check("matmul alpha", [random([3, 4]), random([5, 4])]) { Variable.matmul($0[0], $0[1], transposeB: true, alpha: 0.3) }
    }

    func testSmoothOps() {
        check("softmax", [random([3, 5], scale: 2)]) { $0[0].softmax(axis: 0) }
        // Contiguous rows take the fused row kernel; 37 exercises its 16-wide body and the tail.
        check("softmax rows", [random([3, 37], scale: 2)]) { $0[0].softmax(axis: -1) }
        check("logSoftmax", [random([3, 5], scale: 2)]) { $0[0].logSoftmax() }
        check("gelu", [random([20], scale: 3)]) { $0[0].gelu() }
        check("logSigmoid", [random([20], scale: 5)]) { $0[0].logSigmoid() }
        check("layerNorm", [random([2, 8], scale: 2), random([8]), random([8])]) { $0[0].layerNorm(weight: $0[1], bias: $0[2]) }
        check("layerNorm2d", [random([1, 4, 3, 3], scale: 2), random([4]), random([4])]) { $0[0].layerNorm2d(weight: $0[1], bias: $0[2]) }
        check("instanceNorm", [random([1, 2, 4, 4], scale: 2)]) { $0[0].instanceNorm() }
    }

    func testConvolutionsAndResampling() {
        check("conv2d", [random([1, 2, 6, 5]), random([3, 2, 3, 3]), random([3])]) {
            Variable.conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 1), padding: (1, 1))
        }
        check("conv2d groups", [random([1, 4, 5, 5]), random([4, 2, 3, 3])]) {
            Variable.conv2d($0[0], weight: $0[1], bias: nil, padding: (1, 1), groups: 2)
        }
        check("convTranspose2d", [random([1, 3, 3, 2]), random([3, 2, 2, 2]), random([2])]) {
            Variable.convTranspose2d($0[0], weight: $0[1], bias: $0[2])
        }
        check("resizeBilinear", [random([1, 2, 4, 5])]) { $0[0].resizeBilinear(height: 7, width: 3) }
        check("interpolateRows", [random([5, 3])]) { $0[0].interpolateRows(to: 9) }
        check("gaussianBlur", [random([1, 1, 8, 7])]) { $0[0].gaussianBlur(kernelSize: 5, sigma: 1) }
        // Grid points kept away from pixel boundaries, where bilinear sampling is not differentiable.
        let grid = Tensor(shape: [1, 1, 3, 2], data: [-0.31, 0.12, 0.43, -0.58, 0.07, 0.77])
        check("gridSample", [random([1, 2, 5, 6]), grid], h: 1e-3) { $0[0].gridSample($0[1]) }
        check("averagePooled", [random([1, 2, 6, 4])]) { $0[0].averagePooled(height: 3, width: 2) }
        check("l2Normalized", [random([3, 5])]) { $0[0].l2Normalized() }
    }

    func testFrozenParameterPassesGradientThrough() {
        let x = Variable(random([2, 3]), requiresGrad: true)
        let frozen = Variable(random([4, 3]), requiresGrad: false)
        let y = Variable.linear(x, weight: frozen, bias: nil).sum()
        y.backward()
        XCTAssertNil(frozen.grad, "a frozen weight gets no gradient")
        XCTAssertEqual(x.grad?.shape, [2, 3], "the gradient still reaches the input")
    }

    func testGradientsAccumulateAndNoGradRecordsNothing() {
        let w = Variable(Tensor(shape: [2], data: [1, 2]), requiresGrad: true)
        (w * w).sum().backward()
        (w * w).sum().backward()
        XCTAssertEqual(w.grad?.data, [4, 8], "two backward passes accumulate 2w twice")
        let inference = Variable.noGrad { (w * w).sum() }
        XCTAssertFalse(inference.requiresGrad, "noGrad records no graph")
        let constant = Variable(Tensor(shape: [2], data: [1, 1])) * Variable(Tensor(shape: [2], data: [3, 3]))
        XCTAssertFalse(constant.requiresGrad, "ops on constants record no graph")
    }
}

