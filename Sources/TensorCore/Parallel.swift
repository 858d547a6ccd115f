import Foundation

/// Splits element-wise and reduction work across cores. GEMMs use OpenBLAS's own threads instead; the
/// kernels never call BLAS from inside a parallel region, so the two never oversubscribe the cores.
public enum Parallel {
    /// Work items below which a loop stays on the calling thread (thread start-up costs more).
    public static let minimumWork = 1 << 15

    /// Number of worker threads used for element-wise kernels.
    public static let workers = Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Calls `body` on disjoint ranges covering `0..<count`, concurrently when `count * costPerItem`
    /// is large enough to pay for it.
    /// Calls `body(i)` for each i in `0..<count`, handing items to whichever worker is free (GCD's
    /// concurrentPerform balances dynamically, so a core busy with another process does not hold up the rest).
    /// For coarse items of real work.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 || workers == 1 { for i in 0..<count { body(i) }; return }
        DispatchQueue.concurrentPerform(iterations: count, execute: body)
    }

    @inlinable
    public static func forRanges(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
        if count == 0 { return }
        let chunks = Swift.min(workers, count, Swift.max(1, count * costPerItem / minimumWork))
        if chunks <= 1 { body(0..<count); return }
        let step = (count + chunks - 1) / chunks
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = c * step
            let hi = Swift.min(count, lo + step)
            if lo < hi { body(lo..<hi) }
        }
    }
}
