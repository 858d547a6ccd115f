import CSystem

/// Large tensors are allocated and freed at every layer. glibc serves blocks above its mmap threshold
/// with fresh mappings, so each one page-faults on first touch (measured: 15-20% of a 4096 x 768 x 2304
/// GEMM). Like PyTorch's caching allocator, the toolkit keeps freed memory for reuse instead: large
/// blocks come from the heap (glibc caps the mmap threshold at 32 MiB, below SAM's largest tensors) and
/// freed memory is not trimmed back below 1 GiB. Measured on the vit_b encoder: peak RSS 1.0 GiB.
enum Memory {
    static let keepLargeAllocations: Void = {
        _ = mallopt(M_MMAP_MAX, 0)  // the mmap threshold cannot exceed 32 MiB, and SAM has larger tensors
        _ = mallopt(M_TRIM_THRESHOLD, 1 << 30)
    }()
}
