/// SAM's decomposed relative-position terms (`add_decomposed_rel_pos` before the attention logits):
/// relH[b, y, x, ky] = Σ_c q[b, y, x, c] Rh[y, ky, c] and relW[b, y, x, kx] = Σ_c q[b, y, x, c] Rw[x, kx, c].
///
/// One small GEMM per (head, query row y) or (head, query column x), reading q and writing the terms in
/// place through leading dimensions: no permuted copy of q or of the result (PyTorch's `einsum` makes both).
/// Shapes: q (BH, H, W, d); the table (H, K, d) along `.height` or (W, K, d) along `.width`, K the key
/// count of that axis; the terms (BH, H, W, K).
public enum RelativePositionTerms {
    /// The axis a table runs along: `.height` pairs query row y with Rh[y], `.width` query column x with Rw[x].
    public enum Axis: Sendable { case height, width }

    /// The terms of one axis (see the type's formula).
    public static func forward(q: Tensor, table: Tensor, axis: Axis) -> Tensor {
        let g = Geometry(q: q, table: table, axis: axis)
        var out = Tensor(uninitializedShape: [g.bh, g.h, g.w, g.keys])
        q.data.withUnsafeBufferPointer { pq in table.data.withUnsafeBufferPointer { pt in
        out.data.withUnsafeMutableBufferPointer { po in
            let (Q, T, O) = (pq.baseAddress!, pt.baseAddress!, po.baseAddress!)
            BLAS.withThreads(1) {
                Parallel.forEach(g.bh * g.lines) { job in
                    let (head, line) = job.quotientAndRemainder(dividingBy: g.lines)
                    BLAS.sgemm(transA: false, transB: true, m: g.rowsPerLine, n: g.keys, k: g.d,
                               a: Q + g.qOffset(head, line), lda: g.qStride, b: T + line * g.keys * g.d, ldb: g.d,
                               c: O + g.outOffset(head, line), ldc: g.outStride)
                }
            }
        } } }
        return out
    }

    /// The gradients of `forward` for the upstream gradient `gradOut` (BH, H, W, K): dq (nil unless
    /// `needQ`) and dtable (nil unless `needTable`).
    public static func backward(q: Tensor, table: Tensor, axis: Axis, gradOut: Tensor,
                                needQ: Bool, needTable: Bool) -> (q: Tensor?, table: Tensor?) {
        let g = Geometry(q: q, table: table, axis: axis)
        precondition(gradOut.shape == [g.bh, g.h, g.w, g.keys],
                     "RelativePositionTerms backward: gradOut \(gradOut.shape), expected \([g.bh, g.h, g.w, g.keys])")
        var dq = Tensor(uninitializedShape: needQ ? q.shape : [0])
        var dt = Tensor(uninitializedShape: needTable ? table.shape : [0])
        q.data.withUnsafeBufferPointer { pq in table.data.withUnsafeBufferPointer { pt in
        gradOut.data.withUnsafeBufferPointer { pg in
        dq.data.withUnsafeMutableBufferPointer { pdq in dt.data.withUnsafeMutableBufferPointer { pdt in
            let (Q, T, G) = (pq.baseAddress!, pt.baseAddress!, pg.baseAddress!)
            BLAS.withThreads(1) {
                if needQ {
                    // dq[rows of (head, line)] = G[rows] T[line]: every element of dq written once.
                    Parallel.forEach(g.bh * g.lines) { job in
                        let (head, line) = job.quotientAndRemainder(dividingBy: g.lines)
                        BLAS.sgemm(transA: false, transB: false, m: g.rowsPerLine, n: g.d, k: g.keys,
                                   a: G + g.outOffset(head, line), lda: g.outStride, b: T + line * g.keys * g.d, ldb: g.d,
                                   c: pdq.baseAddress! + g.qOffset(head, line), ldc: g.qStride)
                    }
                }
                if needTable {
                    // dT[line] = Σ_head G[rows]ᵀ q[rows]: one line per worker, heads accumulated in order.
                    Parallel.forEach(g.lines) { line in
                        for head in 0..<g.bh {
                            BLAS.sgemm(transA: true, transB: false, m: g.keys, n: g.d, k: g.rowsPerLine,
                                       a: G + g.outOffset(head, line), lda: g.outStride, b: Q + g.qOffset(head, line),
                                       ldb: g.qStride, beta: head == 0 ? 0 : 1,
                                       c: pdt.baseAddress! + line * g.keys * g.d, ldc: g.d)
                        }
                    }
                }
            }
        } } } } }
        return (needQ ? dq : nil, needTable ? dt : nil)
    }

    /// Where one (head, line) product reads and writes: its rows of q and of the terms, and their strides.
    private struct Geometry {
        let bh, h, w, d, keys: Int
        let axis: Axis

        init(q: Tensor, table: Tensor, axis: Axis) {
            precondition(q.rank == 4 && table.rank == 3,
                         "RelativePositionTerms: q must be (BH, H, W, d) and the table (L, K, d); got q \(q.shape), table \(table.shape)")
            (bh, h, w, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
            keys = table.shape[1]
            self.axis = axis
            precondition(table.shape[0] == lines && table.shape[2] == d,
                         "RelativePositionTerms: a \(axis) table for q \(q.shape) must be (\(lines), K, \(d)); got \(table.shape)")
        }

        /// Query rows (y) along `.height`, columns (x) along `.width`: one product each per head.
        var lines: Int { axis == .height ? h : w }
        /// The q rows of one product: the W tokens of row y, or the H tokens of column x.
        var rowsPerLine: Int { axis == .height ? w : h }
        var qStride: Int { axis == .height ? d : w * d }
        var outStride: Int { axis == .height ? keys : w * keys }

        func qOffset(_ head: Int, _ line: Int) -> Int {
            axis == .height ? (head * h + line) * w * d : (head * h * w + line) * d
        }

        func outOffset(_ head: Int, _ line: Int) -> Int {
            axis == .height ? (head * h + line) * w * keys : (head * h * w + line) * keys
        }
    }
}
