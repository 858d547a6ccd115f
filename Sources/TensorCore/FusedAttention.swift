import Foundation
import CGEMM
import CKernels

/// Attention with SAM's decomposed relative positions (`image_encoder.Attention` with
/// `add_decomposed_rel_pos`) that never materialises all logits: each head runs on its own core with
/// single-threaded GEMMs, one block of query rows at a time; the forward also walks the keys in tiles
/// (online softmax), so at most `rowsPerBlock` x `keysPerTile` logits are live per head (in the backward,
/// `rowsPerBlock` x N logits and as many logit gradients).
///
/// Shapes: q (BH, H, W, d); k, v (BH, N, d) with N = H*W; relH (BH, H, W, H); relW (BH, H, W, W).
/// Heads run in parallel because the products are small (K = head dim) and the softmax between them
/// would otherwise leave OpenBLAS threads spinning.
public enum FusedAttention {
    /// Query rows per block (256 measured no faster, 64 and 32 slower: bench/README).
    public static let rowsPerBlock = 128

    /// Keys per tile of the forward's online softmax (rounded down to whole key lines): 128 x 1024 logits are
    /// 512 KiB, which stay in a core's L2 between the two products (measured against one tile of all 4096
    /// keys in vit_b's global attention: bench/README).
    public static let keysPerTile = 1024

    /// The inputs whose gradient the backward computes.
    public struct Inputs: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let q = Inputs(rawValue: 1), k = Inputs(rawValue: 2), v = Inputs(rawValue: 4)
        public static let relH = Inputs(rawValue: 8), relW = Inputs(rawValue: 16)
        public static let all: Inputs = [.q, .k, .v, .relH, .relW]
    }

    /// Gradients of the backward, nil for the inputs that were not asked for. Shapes as the inputs.
    public struct Gradients {
        public var q, k, v, relH, relW: Tensor?
    }

    /// out (BH, N, d) = softmax(scale * q kᵀ + relH[.., ky] + relW[.., kx]) v, i.e. PyTorch's
    /// `attn = (q * scale) @ k.transpose(-2, -1)`;
    /// `attn = (attn.view(BH, H, W, H, W) + relH[..., :, None] + relW[..., None, :]).view(BH, N, N)`;
    /// `attn.softmax(dim=-1) @ v` (inference: no log-sum-exp kept).
    /// `keysPerTile` sets the forward's key tile (tests use small tiles to cover the online softmax on small shapes).
    public static func relativePosition(q: Tensor, k: Tensor, v: Tensor, relH: Tensor, relW: Tensor, scale: Float,
                                        keysPerTile: Int = keysPerTile) -> Tensor {
        forward(q: q, k: k, v: v, relH: relH, relW: relW, scale: scale, keepLSE: false, keysPerTile: keysPerTile).out
    }

    /// `relativePosition` that also returns each query row's log-sum-exp of its logits (BH, N),
    /// `torch.logsumexp(attn, dim=-1)`, which is all the backward needs to recompute the probabilities.
    /// The output is bit for bit that of `relativePosition`.
    public static func relativePositionWithLSE(q: Tensor, k: Tensor, v: Tensor, relH: Tensor, relW: Tensor,
                                               scale: Float, keysPerTile: Int = keysPerTile) -> (out: Tensor, lse: Tensor) {
        let r = forward(q: q, k: k, v: v, relH: relH, relW: relW, scale: scale, keepLSE: true, keysPerTile: keysPerTile)
        return (r.out, r.lse)
    }

    /// The gradients of `relativePosition` (what PyTorch's autograd gives for the composed computation)
    /// from the forward's inputs, its output `out`, its `lse` and the upstream gradient `gradOut` (BH, N, d).
    ///
    /// Logits are recomputed block by block (flash-attention style): with D_i = dO_i · O_i, per block
    /// P = exp(S - LSE), dV += Pᵀ dO, dS = P ⊙ (dO Vᵀ - D), dQ = scale dS K, dK += scale dSᵀ Q,
    /// drelH[i, ky] = Σ_kx dS[i, ky*W + kx], drelW[i, kx] = Σ_ky dS[i, ky*W + kx].
    public static func relativePositionBackward(q: Tensor, k: Tensor, v: Tensor, relH: Tensor, relW: Tensor, scale: Float,
                                                out: Tensor, lse: Tensor, gradOut: Tensor,
                                                inputs: Inputs = .all) -> Gradients {
        let dm = Dims(q: q, k: k, v: v, relH: relH, relW: relW)
        precondition(out.shape == k.shape && gradOut.shape == k.shape && lse.shape == [dm.bh, dm.n],
                     "FusedAttention backward: out \(out.shape), gradOut \(gradOut.shape), lse \(lse.shape) for k \(k.shape)")
        let needV = inputs.contains(.v), needQ = inputs.contains(.q), needK = inputs.contains(.k)
        let needRel = inputs.contains(.relH) || inputs.contains(.relW)
        let needScores = needQ || needK || needRel
        // dq and drel rows are written once each; dk and dv accumulate over row blocks.
        var dq = Tensor(uninitializedShape: needQ ? q.shape : [0])
        var dk = Tensor.zeros(needK ? k.shape : [0]), dv = Tensor.zeros(needV ? v.shape : [0])
        var drelH = Tensor(uninitializedShape: needRel ? relH.shape : [0])
        var drelW = Tensor(uninitializedShape: needRel ? relW.shape : [0])
        let (n, d, h, w, rowsMax) = (dm.n, dm.d, dm.h, dm.w, Swift.min(rowsPerBlock, dm.n))
        withOperands(q, k, v, relH, relW) { ops in
        out.data.withUnsafeBufferPointer { po in lse.data.withUnsafeBufferPointer { pl in gradOut.data.withUnsafeBufferPointer { pg in
        dq.data.withUnsafeMutableBufferPointer { pdq in dk.data.withUnsafeMutableBufferPointer { pdk in
        dv.data.withUnsafeMutableBufferPointer { pdv in drelH.data.withUnsafeMutableBufferPointer { pdh in
        drelW.data.withUnsafeMutableBufferPointer { pdw in
            let (O, L, G) = (po.baseAddress!, pl.baseAddress!, pg.baseAddress!)
            BLAS.withThreads(1) {
                Parallel.forEach(dm.bh) { head in
                    let p = UnsafeMutablePointer<Float>.allocate(capacity: rowsMax * n)
                    let ds = UnsafeMutablePointer<Float>.allocate(capacity: needScores ? rowsMax * n : 0)
                    let delta = UnsafeMutablePointer<Float>.allocate(capacity: n)
                    defer { p.deallocate(); ds.deallocate(); delta.deallocate() }
                    let hd = head * n * d
                    let (qh, kh, vh, oh, gh) = (ops.q + hd, ops.k + hd, ops.v + hd, O + hd, G + hd)
                    for i in 0..<n {
                        var s: Float = 0
                        for c in 0..<d { s += gh[i * d + c] * oh[i * d + c] }
                        delta[i] = s
                    }
                    var row0 = 0
                    while row0 < n {
                        let rows = Swift.min(rowsPerBlock, n - row0)
                        let qb = qh + row0 * d, gb = gh + row0 * d
                        ops.logits(p, head: head, row0: row0, rows: rows, dims: dm, scale: scale)
                        for r in 0..<rows { ssm_exp_shifted(p + r * n, n, L[head * n + row0 + r]) }
                        if needV {
                            BLAS.sgemm(transA: true, transB: false, m: n, n: d, k: rows, a: p, lda: n, b: gb, ldb: d,
                                       beta: 1, c: pdv.baseAddress! + hd, ldc: d)
                        }
                        if needScores {
                            BLAS.sgemm(transA: false, transB: true, m: rows, n: n, k: d, a: gb, lda: d, b: vh, ldb: d,
                                       c: ds, ldc: n)
                            for r in 0..<rows {
                                let i = head * n + row0 + r
                                ssm_softmax_grad_row(p + r * n, ds + r * n, n, delta[row0 + r])
                                if needRel { ssm_relative_position_sums(ds + r * n, pdh.baseAddress! + i * h, pdw.baseAddress! + i * w, h, w) }
                            }
                            if needQ {
                                BLAS.sgemm(transA: false, transB: false, m: rows, n: d, k: n, alpha: scale, a: ds, lda: n,
                                           b: kh, ldb: d, c: pdq.baseAddress! + hd + row0 * d, ldc: d)
                            }
                            if needK {
                                BLAS.sgemm(transA: true, transB: false, m: n, n: d, k: rows, alpha: scale, a: ds, lda: n,
                                           b: qb, ldb: d, beta: 1, c: pdk.baseAddress! + hd, ldc: d)
                            }
                        }
                        row0 += rows
                    }
                }
            }
        } } } } } } } }
        }
        return Gradients(q: needQ ? dq : nil, k: needK ? dk : nil, v: needV ? dv : nil,
                         relH: inputs.contains(.relH) ? drelH : nil, relW: inputs.contains(.relW) ? drelW : nil)
    }

    private static func forward(q: Tensor, k: Tensor, v: Tensor, relH: Tensor, relW: Tensor, scale: Float,
                                keepLSE: Bool, keysPerTile: Int) -> (out: Tensor, lse: Tensor) {
        let dm = Dims(q: q, k: k, v: v, relH: relH, relW: relW)
        var out = Tensor(uninitializedShape: k.shape)
        var lse = Tensor(uninitializedShape: keepLSE ? [dm.bh, dm.n] : [0])
        // The inference forward in bf16 (inside `ReducedPrecision.with`, i.e. `--precision bf16`): q, k and v converted
        // once, both products on bf16 inputs with fp32 accumulation; logits, relative terms and softmax stay fp32 and
        // each tile's exponentials are rounded to bf16 for the second product. Training (keepLSE) never takes it, so
        // gradients are always those of the fp32 forward.
        let bf16 = !keepLSE && ReducedPrecision.isActive
        withOperands(q, k, v, relH, relW) { ops in
        out.data.withUnsafeMutableBufferPointer { po in lse.data.withUnsafeMutableBufferPointer { pl in
            let lsePointer = keepLSE ? pl.baseAddress! : nil
            if bf16 {
                let products = BF16Products(q: q, k: k, v: v)
                defer { products.free() }
                tiledForward(ops, products, out: po.baseAddress!, lse: lsePointer, dims: dm, scale: scale, keysPerTile: keysPerTile)
            } else {
                BLAS.withThreads(1) {
                    tiledForward(ops, FP32Products(ops: ops), out: po.baseAddress!, lse: lsePointer, dims: dm, scale: scale,
                                 keysPerTile: keysPerTile)
                }
            }
        } }
        }
        return (out, lse)
    }

    /// The forward's loop, one head per core: per block of query rows an online softmax over tiles of whole key
    /// lines. The relative terms are added in the maximum's pass, earlier tiles' sums and output rows rescaled when
    /// the maximum rises, and the division by the row's sum moved after the last product (d values per row, not N).
    private static func tiledForward<P: TileProducts>(_ ops: Operands, _ products: P, out O: UnsafeMutablePointer<Float>,
                                                      lse: UnsafeMutablePointer<Float>?, dims dm: Dims, scale: Float,
                                                      keysPerTile: Int) {
        let (n, d, rowsMax) = (dm.n, dm.d, Swift.min(rowsPerBlock, dm.n))
        Parallel.forEach(dm.bh) { head in
            let tile = KeyTile(dims: dm, keys: keysPerTile)
            let logits = UnsafeMutablePointer<Float>.allocate(capacity: rowsMax * tile.keys)
            let sums = UnsafeMutablePointer<Float>.allocate(capacity: rowsMax)
            let maxima = UnsafeMutablePointer<Float>.allocate(capacity: rowsMax)
            let scratch = products.scratch(capacity: rowsMax * tile.keys)
            defer { logits.deallocate(); sums.deallocate(); maxima.deallocate(); scratch?.deallocate() }
            var row0 = 0
            while row0 < n {
                let rows = Swift.min(rowsPerBlock, n - row0)
                let ob = O + (head * n + row0) * d
                var ky0 = 0
                while ky0 < dm.h {
                    let lines = Swift.min(tile.lines, dm.h - ky0), first = ky0 == 0
                    let block = Block(head: head, row0: row0, rows: rows, key0: ky0 * dm.w, keys: lines * dm.w)
                    products.scores(logits, block, dims: dm, scale: scale)
                    for r in 0..<rows {
                        let i = head * n + row0 + r
                        if first { maxima[r] = -.infinity }
                        let before = maxima[r]
                        let tileSum = ssm_relative_exp_tile(logits + r * block.keys, ops.relH + i * dm.h + ky0,
                                                            ops.relW + i * dm.w, lines, dm.w, maxima + r)
                        if first { sums[r] = tileSum; continue }
                        if maxima[r] > before {
                            let factor = Foundation.exp(before - maxima[r])
                            sums[r] *= factor
                            for c in 0..<d { ob[r * d + c] *= factor }
                        }
                        sums[r] += tileSum
                    }
                    products.accumulate(logits, scratch: scratch, block, into: ob, first: first, dims: dm)
                    ky0 += lines
                }
                for r in 0..<rows {
                    let inverse = 1 / sums[r]
                    for c in 0..<d { ob[r * d + c] *= inverse }
                    lse?[head * n + row0 + r] = maxima[r] + Foundation.log(sums[r])
                }
                row0 += rows
            }
        }
    }

    /// One tile of the forward: query rows row0 ..< row0 + rows of a head against keys key0 ..< key0 + keys.
    private struct Block {
        let head, row0, rows, key0, keys: Int
    }

    /// The forward's two products on one tile, in fp32 or bf16.
    private protocol TileProducts: Sendable {
        /// A buffer the second product needs for `capacity` exponentials (their bf16 copy), nil if none.
        func scratch(capacity: Int) -> UnsafeMutableRawPointer?
        /// out (rows x keys) = scale * q kᵀ on the block.
        func scores(_ out: UnsafeMutablePointer<Float>, _ b: Block, dims: Dims, scale: Float)
        /// o (rows x d) = p v over the block's keys, added to o unless `first`.
        func accumulate(_ p: UnsafeMutablePointer<Float>, scratch: UnsafeMutableRawPointer?, _ b: Block,
                        into o: UnsafeMutablePointer<Float>, first: Bool, dims: Dims)
    }

    private struct FP32Products: TileProducts, @unchecked Sendable {
        let ops: Operands
        func scratch(capacity: Int) -> UnsafeMutableRawPointer? { nil }
        func scores(_ out: UnsafeMutablePointer<Float>, _ b: Block, dims dm: Dims, scale: Float) {
            ops.products(out, head: b.head, row0: b.row0, rows: b.rows, key0: b.key0, keys: b.keys, dims: dm, scale: scale)
        }
        func accumulate(_ p: UnsafeMutablePointer<Float>, scratch: UnsafeMutableRawPointer?, _ b: Block,
                        into o: UnsafeMutablePointer<Float>, first: Bool, dims dm: Dims) {
            BLAS.sgemm(transA: false, transB: false, m: b.rows, n: dm.d, k: b.keys, a: p, lda: b.keys,
                       b: ops.v + (b.head * dm.n + b.key0) * dm.d, ldb: dm.d, beta: first ? 0 : 1, c: o, ldc: dm.d)
        }
    }

    private struct BF16Products: TileProducts, @unchecked Sendable {
        let q16, k16, v16: BF16Buffer
        init(q: Tensor, k: Tensor, v: Tensor) { (q16, k16, v16) = (BF16Buffer(q), BF16Buffer(k), BF16Buffer(v)) }
        func free() { q16.free(); k16.free(); v16.free() }
        func scratch(capacity: Int) -> UnsafeMutableRawPointer? {
            UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 64)
        }
        func scores(_ out: UnsafeMutablePointer<Float>, _ b: Block, dims dm: Dims, scale: Float) {
            BLAS.gemmBF16(transA: false, transB: true, m: b.rows, n: b.keys, k: dm.d, alpha: scale,
                          a: q16.pointer + (b.head * dm.n + b.row0) * dm.d, lda: dm.d,
                          b: k16.pointer + (b.head * dm.n + b.key0) * dm.d, ldb: dm.d, c: out, ldc: b.keys, threads: 1)
        }
        func accumulate(_ p: UnsafeMutablePointer<Float>, scratch: UnsafeMutableRawPointer?, _ b: Block,
                        into o: UnsafeMutablePointer<Float>, first: Bool, dims dm: Dims) {
            let p16 = scratch!.assumingMemoryBound(to: UInt16.self)
            ssm_f32_to_bf16(p, p16, b.rows * b.keys)
            BLAS.gemmBF16(transA: false, transB: false, m: b.rows, n: dm.d, k: b.keys, a: p16, lda: b.keys,
                          b: v16.pointer + (b.head * dm.n + b.key0) * dm.d, ldb: dm.d, beta: first ? 0 : 1,
                          c: o, ldc: dm.d, threads: 1)
        }
    }

    /// The forward's key tile: whole lines of keys (ky), about `keysPerTile` keys, so a block's logits
    /// (rowsPerBlock x keys) stay in the core's L2 between the two products.
    private struct KeyTile {
        /// Key lines per tile, and the keys of a full tile (the last may be shorter).
        let lines, keys: Int
        init(dims dm: Dims, keys wanted: Int) {
            lines = Swift.max(1, Swift.min(dm.h, wanted / dm.w))
            keys = lines * dm.w
        }
    }

    /// Sizes of one call, checked against every operand.
    private struct Dims {
        let bh, h, w, d: Int
        var n: Int { h * w }

        init(q: Tensor, k: Tensor, v: Tensor, relH: Tensor, relW: Tensor) {
            precondition(q.rank == 4, "FusedAttention: q must be (BH, H, W, d), got \(q.shape)")
            (bh, h, w, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
            precondition(bh > 0 && h > 0 && w > 0 && d > 0, "FusedAttention: empty q \(q.shape)")
            precondition(k.shape == [bh, h * w, d] && v.shape == k.shape && relH.shape == [bh, h, w, h]
                         && relW.shape == [bh, h, w, w],
                         "FusedAttention: q \(q.shape) needs k, v \([bh, h * w, d]), relH \([bh, h, w, h]), relW \([bh, h, w, w]); got k \(k.shape), v \(v.shape), relH \(relH.shape), relW \(relW.shape)")
        }
    }

    /// Base addresses of the forward's operands.
    private struct Operands {
        let q, k, v, relH, relW: UnsafePointer<Float>

        /// out[r, :] = scale * q_i kᵀ + relH[i, ky] + relW[i, kx] for the query rows i = row0 ..< row0 + rows of one head.
        func logits(_ out: UnsafeMutablePointer<Float>, head: Int, row0: Int, rows: Int, dims dm: Dims, scale: Float) {
            let (n, h, w) = (dm.n, dm.h, dm.w)
            products(out, head: head, row0: row0, rows: rows, dims: dm, scale: scale)
            for r in 0..<rows {
                let i = head * n + row0 + r
                ssm_add_relative_position(out + r * n, relH + i * h, relW + i * w, h, w)
            }
        }

        /// out[r, :] = scale * q_i kᵀ alone (the relative terms are `logits`' second step), for the keys
        /// key0 ..< key0 + keys (all of them by default); out has `keys` columns.
        func products(_ out: UnsafeMutablePointer<Float>, head: Int, row0: Int, rows: Int, key0: Int = 0, keys: Int? = nil,
                      dims dm: Dims, scale: Float) {
            let (n, d) = (dm.n, dm.d), keys = keys ?? n
            BLAS.sgemm(transA: false, transB: true, m: rows, n: keys, k: d, alpha: scale,
                       a: q + (head * n + row0) * d, lda: d, b: k + (head * n + key0) * d, ldb: d, c: out, ldc: keys)
        }
    }

    private static func withOperands<R>(_ q: Tensor, _ k: Tensor, _ v: Tensor, _ relH: Tensor, _ relW: Tensor,
                                        _ body: (Operands) -> R) -> R {
        q.data.withUnsafeBufferPointer { pq in k.data.withUnsafeBufferPointer { pk in v.data.withUnsafeBufferPointer { pv in
        relH.data.withUnsafeBufferPointer { prh in relW.data.withUnsafeBufferPointer { prw in
            body(Operands(q: pq.baseAddress!, k: pk.baseAddress!, v: pv.baseAddress!, relH: prh.baseAddress!, relW: prw.baseAddress!))
        } } } } }
    }
}
