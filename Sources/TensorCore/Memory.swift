import CSystem

/// Large tensors are allocated and freed at every layer. glibc serves blocks above its mmap threshold
/// with fresh mappings, so each one page-faults on first touch (measured: 15-20% of a 4096 x 768 x 2304
/// GEMM). Like PyTorch's caching allocator, the toolkit keeps freed memory for reuse instead: one call
/// raises the mmap and trim thresholds for the whole process.
enum Memory {
    static let keepLargeAllocations: Void = {
        _ = mallopt(M_MMAP_THRESHOLD, 1 << 30)
        _ = mallopt(M_TRIM_THRESHOLD, 1 << 30)
    }()
}
