import CBLAS
import CGEMM
import Diagnostics
import Foundation

/// The arithmetic of a model's large products.
public enum GEMMPrecision: String, Sendable, CaseIterable, CustomStringConvertible {
    /// fp32 inputs and accumulation (the default; what parity is tested in).
    case fp32
    /// bfloat16 inputs (8 significant bits) with fp32 accumulation, on AMX-BF16 or AVX512-BF16 (oneDNN).
    case bf16

    public var description: String { rawValue }

    /// Why this CPU and this installation cannot run `self`, in one line a user can act on; nil when it can.
    public static func unsupportedReason(_ precision: GEMMPrecision, cpu: CPUInfo = .host,
                                         oneDNNBF16: () -> Bool = { ssm_dnnl_bf16_available() != 0 }) -> String? {
        guard precision == .bf16 else { return nil }
        let amx = cpu.flags.contains("amx_bf16") && cpu.flags.contains("amx_tile")
        let avx512 = cpu.flags.contains("avx512_bf16") && cpu.osSavesZMM
        if !amx && !avx512 {
            return "--precision bf16 needs a CPU with AMX-BF16 or AVX512-BF16; this one has neither (\(cpu.summary)); use --precision fp32"
        }
        if ssm_dnnl_available() == 0 {
            return "--precision bf16 runs on oneDNN (libdnnl.so.2), which is not installed (Debian: apt-get install libdnnl-dev)"
        }
        if !oneDNNBF16() {
            return "--precision bf16: oneDNN \(String(cString: ssm_dnnl_version())) could not create a bf16 matmul on this CPU"
        }
        return nil
    }
}

/// bf16 copies of a model's weight matrices, converted once when the model is put in bf16 (not per product).
///
/// While `ReducedPrecision.with(self)` runs, a product whose A or B operand lies inside one of these
/// weights runs in bf16 on the stored copy (same layout, so views and strides into a weight work), the
/// other operand converted per call; every other product (activation x activation) stays fp32. The
/// weights' storage is retained, so an address can never be reused for another tensor while the copy
/// lives, and a weight that is changed later (copy on write) simply no longer matches: it runs in fp32.
public final class BF16Weights: @unchecked Sendable {
    private struct Entry {
        let owner: [Float]   // keeps the storage (and so its address) alive
        let start: UInt, end: UInt
        let copy: UnsafeMutablePointer<UInt16>
    }
    private let entries: [Entry]   // sorted by start, non-overlapping

    /// Products smaller than this many elements in the weight stay fp32 (conversion would cost more).
    public static let minimumElements = 4096

    /// Converts every tensor of at least `minimumElements` elements and rank >= 2.
    public init(_ weights: [Tensor]) {
        var list: [Entry] = []
        var seen = Set<UInt>()
        for w in weights where w.rank >= 2 && w.count >= Self.minimumElements {
            let owner = w.data
            let start = owner.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
            guard seen.insert(start).inserted else { continue }
            let copy = UnsafeMutablePointer<UInt16>.allocate(capacity: owner.count)
            owner.withUnsafeBufferPointer { ssm_f32_to_bf16($0.baseAddress, copy, $0.count) }
            list.append(Entry(owner: owner, start: start, end: start + UInt(owner.count * 4), copy: copy))
        }
        entries = list.sorted { $0.start < $1.start }
    }

    deinit { for e in entries { e.copy.deallocate() } }

    /// Number of weight matrices held.
    public var count: Int { entries.count }
    /// Bytes of bf16 copies held.
    public var bytes: Int { entries.reduce(0) { $0 + $1.owner.count * 2 } }

    /// The bf16 element at the same position as `p`, when `p` points into a held weight.
    func copy(of p: UnsafePointer<Float>) -> UnsafePointer<UInt16>? {
        let a = UInt(bitPattern: p)
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].end <= a { lo = mid + 1 } else { hi = mid }
        }
        guard lo < entries.count, entries[lo].start <= a else { return nil }
        return UnsafePointer(entries[lo].copy + Int(a - entries[lo].start) / 4)
    }
}

/// The bf16 context of the current task or thread (a task-local value): where `BLAS.sgemm` finds
/// the weights' bf16 copies.
public enum ReducedPrecision {
    @TaskLocal static var weights: BF16Weights?

    /// Runs `body` with products on `weights` in bf16 (nil: fp32, as outside).
    public static func with<T>(_ weights: BF16Weights?, _ body: () throws -> T) rethrows -> T {
        try $weights.withValue(weights, operation: body)
    }

    /// Whether products run in bf16 here: inside `with` and where oneDNN's bf16 matmul works (elsewhere the
    /// context is ignored and everything stays fp32; `GEMMPrecision.unsupportedReason` is what refuses).
    public static var isActive: Bool { weights != nil && ssm_dnnl_bf16_available() != 0 }
}

extension BLAS {
    /// The bf16 product when one operand is a held weight (the other converted now); false when neither is,
    /// so the caller runs fp32. The conversion of the other operand is a pass over it, paid for by the halved
    /// bandwidth and doubled (AVX512-BF16) or 16x (AMX) throughput of the product.
    static func bf16Product(_ held: BF16Weights, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) -> Bool {
        let heldA = held.copy(of: a), heldB = heldA == nil ? held.copy(of: b) : nil
        guard heldA != nil || heldB != nil else { return false }
        // The other operand, packed densely (rows x cols as stored).
        let (rows, cols, ld, src) = heldA != nil ? (transB ? n : k, transB ? k : n, ldb, b) : (transA ? k : m, transA ? m : k, lda, a)
        let packed = UnsafeMutablePointer<UInt16>.allocate(capacity: rows * cols)
        defer { packed.deallocate() }
        Parallel.forRanges(rows, costPerItem: cols) { r in
            for i in r { ssm_f32_to_bf16(src + i * ld, packed + i * cols, cols) }
        }
        gemmBF16(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                 a: heldA ?? UnsafePointer(packed), lda: heldA != nil ? lda : cols,
                 b: heldB ?? UnsafePointer(packed), ldb: heldB != nil ? ldb : cols,
                 beta: beta, c: c, ldc: ldc, threads: threads)
        return true
    }
}

extension BLAS {
    /// Row-major C (f32) = alpha op(A) op(B) + beta C with A and B already in bfloat16, fp32 accumulation, on
    /// oneDNN on `threads` threads (attention's products, whose operands are converted once per call).
    static func gemmBF16(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                         a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>, ldb: Int,
                         beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int) {
        let status = ssm_dnnl_gemm_bf16(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, Int32(threads))
        precondition(status == 0, "oneDNN bf16 matmul failed (status \(status)) on M \(m) N \(n) K \(k)")
    }
}

/// A tensor's elements as bfloat16 (converted in parallel), for products whose both operands are activations.
struct BF16Buffer {
    let pointer: UnsafeMutablePointer<UInt16>
    init(_ t: Tensor) {
        let p = UnsafeMutablePointer<UInt16>.allocate(capacity: Swift.max(t.count, 1))
        t.data.withUnsafeBufferPointer { src in
            let s = src.baseAddress!
            Parallel.forRanges(t.count) { r in ssm_f32_to_bf16(s + r.lowerBound, p + r.lowerBound, r.count) }
        }
        pointer = p
    }
    func free() { pointer.deallocate() }
}
