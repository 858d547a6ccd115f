import CBLAS
import CGEMM
import Foundation

/// The GEMM interface every large product goes through, on the engine chosen at first use
/// (`BLAS.gemm`, GEMMEngine.swift: OpenBLAS on the strongest kernel the CPU supports, or oneDNN).
public enum BLAS {
    /// C = alpha * op(A) * op(B) + beta * C, row-major, op = transpose when the flag is set.
    /// `lda`, `ldb`, `ldc` are the row strides of A, B and C as stored. Inside `ReducedPrecision.with`,
    /// a product on a weight held there runs in bf16 (ReducedPrecision.swift).
    public static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if let held = ReducedPrecision.weights, m > 0, n > 0, k > 0, ssm_dnnl_bf16_available() != 0,
           bf16Product(held, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                       b: b, ldb: ldb, beta: beta, c: c, ldc: ldc) {
            return
        }
        sgemm(on: active.engine, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
              a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    /// `sgemm` on a given engine, bypassing the selection (benchmarks and tests compare engines with it).
    /// oneDNN runs on `threads` threads, as OpenBLAS does, so `withThreads` governs both.
    public static func sgemm(on engine: GEMMEngine, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            return
        }
        switch engine {
        case .openBLAS:
            cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        case .oneDNN:
            let status = ssm_dnnl_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                                        openblas_get_num_threads())
            precondition(status == 0, "dnnl_sgemm failed (status \(status)) on M \(m) N \(n) K \(k), lda \(lda) ldb \(ldb) ldc \(ldc)")
        }
    }

    /// Runs `body` with OpenBLAS limited to `count` threads, for regions that parallelise over many small
    /// products themselves (one thread per core, each calling single-threaded GEMMs).
    /// OpenBLAS's thread count is process-wide: regions that change it run one at a time, so two of them
    /// on different threads cannot restore each other's setting.
    public static func withThreads<T>(_ count: Int, _ body: () throws -> T) rethrows -> T {
        threadRegion.lock()
        defer { threadRegion.unlock() }
        let saved = threads
        if saved == count { return try body() }
        threads = count
        defer { threads = saved }
        return try body()
    }

    private static let threadRegion = NSRecursiveLock()

    /// The OpenBLAS build configuration string (version, kernel, threading).
    public static var configuration: String { String(cString: openblas_get_config()) }
    /// The CPU kernel OpenBLAS runs ("SkylakeX", "Haswell", ...), after the selection (`gemm`) was applied.
    public static var coreName: String { _ = active; return String(cString: openblas_get_corename()) }
    /// The GEMM thread count: OpenBLAS's, which oneDNN follows call by call.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }
}
