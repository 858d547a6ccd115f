import XCTest
import TensorCore

/// Every kernel and its gradient against PyTorch (fixtures by scripts/make_fixtures.py).
final class KernelParityTests: XCTestCase {
    func testMatmul() throws {
        for name in ["matmul_2d", "matmul_batched", "matmul_shared_b", "matmul_transpose_a", "matmul_transpose_b",
                     "matmul_transpose_both_shared"] {
            try checkCase(name, inputs: ["a", "b"]) { f, v in
                Variable.matmul(v["a"]!, v["b"]!, transposeA: f.bool("transposeA"), transposeB: f.bool("transposeB"))
            }
        }
    }

    func testLinear() throws {
        try checkCase("linear", inputs: ["x", "w", "b"]) { _, v in Variable.linear(v["x"]!, weight: v["w"]!, bias: v["b"]!) }
    }

    func testBroadcastArithmetic() throws {
        try checkCase("add_broadcast", inputs: ["a", "b"]) { _, v in v["a"]! + v["b"]! }
        try checkCase("sub_broadcast", inputs: ["a", "b"]) { _, v in v["a"]! - v["b"]! }
        try checkCase("mul_broadcast", inputs: ["a", "b"]) { _, v in v["a"]! * v["b"]! }
        try checkCase("div_broadcast", inputs: ["a", "b"]) { _, v in v["a"]! / v["b"]! }
    }

    func testReductions() throws {
        try checkCase("sum_axes", inputs: ["x"]) { f, v in v["x"]!.sum(axes: f.ints("axes"), keepDims: f.bool("keepDims")) }
        try checkCase("mean_keepdim", inputs: ["x"]) { f, v in v["x"]!.mean(axes: f.ints("axes"), keepDims: f.bool("keepDims")) }
        try checkCase("max_axis", inputs: ["x"]) { f, v in v["x"]!.max(axis: f.int("axis")) }
    }

    /// At every dispatch level of the softmax kernels (scalar, AVX2, AVX-512 as far as the CPU has them).
    func testSoftmaxFamily() throws {
        try DispatchLevels.forEach { level in
            try checkCase("softmax", inputs: ["x"], level: level) { f, v in v["x"]!.softmax(axis: f.int("axis")) }
            try checkCase("softmax_axis1", inputs: ["x"], level: level) { f, v in v["x"]!.softmax(axis: f.int("axis")) }
            try checkCase("log_softmax", inputs: ["x"], level: level) { f, v in v["x"]!.logSoftmax(axis: f.int("axis")) }
        }
        try checkCase("logsigmoid", inputs: ["x"]) { _, v in v["x"]!.logSigmoid() }
    }

    func testActivations() throws {
        try DispatchLevels.forEach { level in try checkCase("gelu", inputs: ["x"], level: level) { _, v in v["x"]!.gelu() } }
        try checkCase("relu", inputs: ["x"]) { _, v in v["x"]!.relu() }
        try checkCase("sigmoid", inputs: ["x"]) { _, v in v["x"]!.sigmoid() }
    }

    func testNormalizations() throws {
        try checkCase("layer_norm", inputs: ["x", "w", "b"]) { f, v in
            v["x"]!.layerNorm(weight: v["w"]!, bias: v["b"]!, eps: f.float("eps"))
        }
        try checkCase("layer_norm2d", inputs: ["x", "w", "b"]) { f, v in
            v["x"]!.layerNorm2d(weight: v["w"]!, bias: v["b"]!, eps: f.float("eps"))
        }
        try checkCase("instance_norm", inputs: ["x"]) { f, v in v["x"]!.instanceNorm(eps: f.float("eps")) }
    }

    func testConvolutions() throws {
        for name in ["conv2d_stride_pad", "conv2d_1x1", "conv2d_depthwise", "conv2d_patch"] {
            let f = try Fixture(name)
            let hasBias = f.tensors["in.b"] != nil
            try checkCase(name, inputs: hasBias ? ["x", "w", "b"] : ["x", "w"]) { f, v in
                let s = f.ints("stride"), p = f.ints("padding")
                return Variable.conv2d(v["x"]!, weight: v["w"]!, bias: v["b"], stride: (s[0], s[1]),
                                       padding: (p[0], p[1]), groups: f.int("groups"))
            }
        }
        try checkCase("conv_transpose2d", inputs: ["x", "w", "b"]) { _, v in
            Variable.convTranspose2d(v["x"]!, weight: v["w"]!, bias: v["b"]!)
        }
    }

    func testResampling() throws {
        for name in ["bilinear_up", "bilinear_down", "bilinear_align_corners"] {
            try checkCase(name, inputs: ["x"]) { f, v in
                let s = f.ints("size")
                return v["x"]!.resizeBilinear(height: s[0], width: s[1], alignCorners: f.bool("alignCorners"))
            }
        }
        try checkCase("interpolate_rows", inputs: ["t"]) { f, v in v["t"]!.interpolateRows(to: f.int("length")) }
        try checkCase("grid_sample", inputs: ["x", "grid"]) { _, v in v["x"]!.gridSample(v["grid"]!) }
        try checkCase("gaussian_blur", inputs: ["x"]) { f, v in
            v["x"]!.gaussianBlur(kernelSize: f.int("kernelSize"), sigma: f.float("sigma"))
        }
    }

    func testLayout() throws {
        try checkCase("pad", inputs: ["x"]) { f, v in
            let a = (f.params["amounts"] as! [[Int]]).map { ($0[0], $0[1]) }
            return v["x"]!.padded(a)
        }
        try checkCase("permute", inputs: ["x"]) { f, v in v["x"]!.permuted(f.ints("order")) }
        try checkCase("concat", inputs: ["a", "b"]) { f, v in Variable.concat([v["a"]!, v["b"]!], axis: f.int("axis")) }
        try checkCase("window_partition", inputs: ["x"]) { f, v in v["x"]!.windowPartition(f.int("window")).windows }
        try checkCase("window_roundtrip", inputs: ["x"]) { f, v in
            let x = v["x"]!, w = f.int("window")
            let (windows, hw) = x.windowPartition(w)
            return Variable.windowUnpartition(windows * 2, window: w, paddedHW: hw, hw: (x.shape[1], x.shape[2]))
        }
    }

    func testSplitGradients() throws {
        let f = try Fixture("split")
        let x = try f.input("x")
        let parts = x.split(sizes: f.ints("sizes"), axis: f.int("axis"))
        var loss: Variable? = nil
        for (i, p) in parts.enumerated() {
            assertClose(p.value, try f.tensor("out.\(i)"), tolerance: 1e-5, "split part \(i)")
            let term = (p * Variable(try f.tensor("grad_out.\(i)"))).sum()
            loss = loss.map { $0 + term } ?? term
        }
        loss!.backward()
        assertClose(x.grad!, try f.tensor("grad.x"), tolerance: 1e-4, "split grad")
    }

    /// The Tensor kernels (inference path, no graph) give the same values as the Variable ops.
    func testInferenceKernelsMatchReference() throws {
        let f = try Fixture("conv2d_stride_pad")
        let y = Tensor.conv2d(try f.tensor("in.x"), weight: try f.tensor("in.w"), bias: try f.tensor("in.b"), stride: (2, 2), padding: (1, 1))
        assertClose(y, try f.tensor("out"), tolerance: 1e-5, "conv2d kernel")
        let l = try Fixture("layer_norm2d")
        assertClose(try l.tensor("in.x").layerNorm2d(weight: try l.tensor("in.w"), bias: try l.tensor("in.b")),
                    try l.tensor("out"), tolerance: 1e-5, "layerNorm2d kernel")
        let lin = try Fixture("linear")
        assertClose(Tensor.linear(try lin.tensor("in.x"), weight: try lin.tensor("in.w"), bias: try lin.tensor("in.b")),
                    try lin.tensor("out"), tolerance: 1e-5, "linear kernel")
    }
}
