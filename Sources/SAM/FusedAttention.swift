import TensorCore

/// Inference kernels for attention that never materialise all logits of all heads at once.
enum FusedAttention {
    /// Query rows per block: 128 rows x 4096 keys is 2 MiB of logits, which stays in cache.
    static let rowsPerBlock = 128

    /// softmax(scale * q kᵀ + relH + relW) v per head, block of query rows by block.
    /// q: (BH, H, W, d); k, v: (BH, N, d) with N = H*W; relH: (BH, H, W, H); relW: (BH, H, W, W).
    static func relativePosition(q: Tensor, k: Tensor, v: Tensor, relH: Tensor, relW: Tensor, scale: Float) -> Tensor {
        let (bh, h, w, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let n = h * w
        var out = Tensor(uninitializedShape: [bh, n, d])
        var logits = [Float](repeating: 0, count: rowsPerBlock * n)
        q.data.withUnsafeBufferPointer { pq in k.data.withUnsafeBufferPointer { pk in v.data.withUnsafeBufferPointer { pv in
        relH.data.withUnsafeBufferPointer { prh in relW.data.withUnsafeBufferPointer { prw in
        out.data.withUnsafeMutableBufferPointer { po in logits.withUnsafeMutableBufferPointer { pl in
            let L = pl.baseAddress!
            for head in 0..<bh {
                let qh = pq.baseAddress! + head * n * d, kh = pk.baseAddress! + head * n * d, vh = pv.baseAddress! + head * n * d
                var row0 = 0
                while row0 < n {
                    let rows = Swift.min(rowsPerBlock, n - row0)
                    BLAS.sgemm(transA: false, transB: true, m: rows, n: n, k: d, alpha: scale,
                               a: qh + row0 * d, lda: d, b: kh, ldb: d, c: L, ldc: n)
                    let rhBase = prh.baseAddress! + head * n * h, rwBase = prw.baseAddress! + head * n * w
                    Parallel.forRanges(rows, costPerItem: n * 4) { range in
                        for r in range {
                            let i = row0 + r
                            let line = L + r * n, rh = rhBase + i * h, rw = rwBase + i * w
                            var m = -Float.infinity
                            for ky in 0..<h {
                                let a = rh[ky], seg = line + ky * w
                                for kx in 0..<w { let val = seg[kx] + a + rw[kx]; seg[kx] = val; if val > m { m = val } }
                            }
                            var s: Float = 0
                            for j in 0..<n { let e = expf(line[j] - m); line[j] = e; s += e }
                            let inv = 1 / s
                            for j in 0..<n { line[j] *= inv }
                        }
                    }
                    BLAS.sgemm(transA: false, transB: false, m: rows, n: d, k: n, a: L, lda: n, b: vh, ldb: d,
                               c: po.baseAddress! + (head * n + row0) * d, ldc: d)
                    row0 += rows
                }
            }
        } } } } } } }
        return out
    }
}

import Foundation
