import TensorCore

/// Inference kernels for attention that never materialise all logits of all heads at once.
enum FusedAttention {
    /// Query rows per block: 128 rows x 4096 keys is 2 MiB of logits, which stays in cache.
    static let rowsPerBlock = 128

    /// softmax(scale * q kᵀ + relH + relW) v per head, block of query rows by block.
    /// q: (BH, H, W, d); k, v: (BH, N, d) with N = H*W; relH: (BH, H, W, H); relW: (BH, H, W, W).
    ///
    /// Heads run in parallel, one per core, each with single-threaded GEMMs: the products are small
    /// (K = head dim), and the softmax between them would otherwise leave OpenBLAS threads spinning.
    static func relativePosition(q: Tensor, k: Tensor, v: Tensor, relH: Tensor, relW: Tensor, scale: Float) -> Tensor {
        let (bh, h, w, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let n = h * w
        var out = Tensor(uninitializedShape: [bh, n, d])
        q.data.withUnsafeBufferPointer { pq in k.data.withUnsafeBufferPointer { pk in v.data.withUnsafeBufferPointer { pv in
        relH.data.withUnsafeBufferPointer { prh in relW.data.withUnsafeBufferPointer { prw in
        out.data.withUnsafeMutableBufferPointer { po in
            let (Q, K, V, RH, RW, O) = (pq.baseAddress!, pk.baseAddress!, pv.baseAddress!, prh.baseAddress!, prw.baseAddress!, po.baseAddress!)
            BLAS.withThreads(1) {
                Parallel.forEach(bh) { head in
                    let logits = UnsafeMutablePointer<Float>.allocate(capacity: rowsPerBlock * n)
                    defer { logits.deallocate() }
                    let qh = Q + head * n * d, kh = K + head * n * d, vh = V + head * n * d
                    let rhBase = RH + head * n * h, rwBase = RW + head * n * w
                    var row0 = 0
                    while row0 < n {
                        let rows = Swift.min(rowsPerBlock, n - row0)
                        BLAS.sgemm(transA: false, transB: true, m: rows, n: n, k: d, alpha: scale,
                                   a: qh + row0 * d, lda: d, b: kh, ldb: d, c: logits, ldc: n)
                        for r in 0..<rows {
                            let i = row0 + r
                            VectorMath.addRelativePosition(logits + r * n, rh: rhBase + i * h, rw: rwBase + i * w, h: h, w: w)
                            VectorMath.softmaxInPlace(logits + r * n, n)
                        }
                        BLAS.sgemm(transA: false, transB: false, m: rows, n: d, k: n, a: logits, lda: n, b: vh, ldb: d,
                                   c: O + (head * n + row0) * d, ldc: d)
                        row0 += rows
                    }
                }
            }
        } } } } } }
        return out
    }
}
