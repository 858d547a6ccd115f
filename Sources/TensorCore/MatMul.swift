import Diagnostics

/// Matrix products on `cblas_sgemm`. Transposed operands are read in place (no copies).
extension Tensor {
    /// Validates the shapes of `matmul` and returns (batch, M, K, N, result shape).
    public static func matmulShape(_ a: [Int], _ b: [Int], transposeA: Bool, transposeB: Bool) throws
        -> (batch: Int, m: Int, k: Int, n: Int, shape: [Int], sharedB: Bool) {
        guard a.count >= 2, b.count >= 2 else {
            throw ToolkitError(.mismatch, "matmul needs rank >= 2 operands, got \(a) and \(b)")
        }
        let (m, ka) = transposeA ? (a[a.count - 1], a[a.count - 2]) : (a[a.count - 2], a[a.count - 1])
        let (kb, n) = transposeB ? (b[b.count - 1], b[b.count - 2]) : (b[b.count - 2], b[b.count - 1])
        guard ka == kb else {
            throw ToolkitError(.mismatch, "matmul: inner dimensions differ: \(a)\(transposeA ? "ᵀ" : "") @ \(b)\(transposeB ? "ᵀ" : "") (\(ka) vs \(kb))")
        }
        let batchA = Array(a.dropLast(2)), batchB = Array(b.dropLast(2))
        if b.count == 2 { return (batchA.product, m, ka, n, batchA + [m, n], true) }
        guard batchA == batchB else {
            throw ToolkitError(.mismatch, "matmul: batch dimensions differ: \(a) @ \(b)")
        }
        return (batchA.product, m, ka, n, batchA + [m, n], false)
    }

    /// `alpha * torch.matmul(a, b)` with optional transposes of the last two axes of either operand.
    /// `a` is (..., M, K); `b` is (K, N), shared across a's batch, or (..., K, N) with the same batch. The
    /// scale is GEMM's own (free: no pass over the product).
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false, alpha: Float = 1) -> Tensor {
        let s = checked { try matmulShape(a.shape, b.shape, transposeA: transposeA, transposeB: transposeB) }
        // GEMM with beta = 0 writes every element without reading it: no zero fill needed.
        var out = s.k == 0 ? Tensor.zeros(s.shape) : Tensor(uninitializedShape: s.shape)
        let lda = a.shape[a.rank - 1], ldb = b.shape[b.rank - 1]
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                out.data.withUnsafeMutableBufferPointer { pc in
                    if s.sharedB && !transposeA {
                        // Fold the batch into M: one large GEMM.
                        BLAS.sgemm(transA: false, transB: transposeB, m: s.batch * s.m, n: s.n, k: s.k, alpha: alpha,
                                   a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb,
                                   c: pc.baseAddress!, ldc: s.n)
                        return
                    }
                    for i in 0..<s.batch {
                        BLAS.sgemm(transA: transposeA, transB: transposeB, m: s.m, n: s.n, k: s.k, alpha: alpha,
                                   a: pa.baseAddress! + i * s.m * s.k, lda: lda,
                                   b: pb.baseAddress! + (s.sharedB ? 0 : i * s.k * s.n), ldb: ldb,
                                   c: pc.baseAddress! + i * s.m * s.n, ldc: s.n)
                    }
                }
            }
        }
        return out
    }

    /// `torch.nn.functional.linear(x, weight, bias)`: x (..., in) @ weightᵀ (out, in) + bias (out).
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        var out = Tensor(uninitializedShape: Array(x.shape.dropLast()) + [weight.rank == 2 ? weight.shape[0] : 0])
        linear(x, weight: weight, bias: bias, into: &out)
        return out
    }

    /// `linear` writing into `out`, whose storage is reused when it already has the right size
    /// (so a forward pass can keep one buffer per layer shape instead of allocating per call).
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, into out: inout Tensor) {
        precondition(weight.rank == 2 && x.rank >= 1 && x.shape.last == weight.shape[1],
                     "linear: input \(x.shape) does not match weight \(weight.shape) (expected (..., \(weight.rank == 2 ? weight.shape[1] : -1)))")
        if let b = bias {
            precondition(b.shape == [weight.shape[0]], "linear: bias \(b.shape) does not match weight \(weight.shape)")
        }
        let rows = x.count / weight.shape[1], outF = weight.shape[0], inF = weight.shape[1]
        out.reset(shape: Array(x.shape.dropLast()) + [outF])
        out.data.withUnsafeMutableBufferPointer { pc in
            if let b = bias {
                // Start from the bias and let GEMM accumulate onto it (beta = 1).
                b.data.withUnsafeBufferPointer { pb in
                    for r in 0..<rows { (pc.baseAddress! + r * outF).update(from: pb.baseAddress!, count: outF) }
                }
            }
            x.data.withUnsafeBufferPointer { pa in
                weight.data.withUnsafeBufferPointer { pw in
                    BLAS.sgemm(transA: false, transB: true, m: rows, n: outF, k: inF,
                               a: pa.baseAddress!, lda: inF, b: pw.baseAddress!, ldb: inF,
                               beta: bias == nil ? 0 : 1, c: pc.baseAddress!, ldc: outF)
                }
            }
        }
    }
}
