import CBLAS
import Foundation

/// Thin wrappers on OpenBLAS, the engine behind every large product.
public enum BLAS {
    /// C = alpha * op(A) * op(B) + beta * C, row-major, op = transpose when the flag is set.
    /// `lda`, `ldb`, `ldc` are the row strides of A, B and C as stored.
    @inlinable
    public static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
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
    /// The CPU kernel OpenBLAS selected ("Zen", "Haswell", ...).
    public static var coreName: String { String(cString: openblas_get_corename()) }
    /// OpenBLAS's thread count.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }
}
