import CKissFFT
import Diagnostics
import Foundation

/// SSM-SAM's handcrafted high-pass feature (the `fft` of EVP / SAM-Adapter's prompt generator), on
/// KISS FFT's complex 2-D transform. Per H x W plane of a (B, C, H, W) tensor:
///
///     F = fftshift(fft2(x, norm="forward"))            # forward scaled by 1/(H*W)
///     F[H//2-l : H//2+l, W//2-l : W//2+l] = 0         # l = int(sqrt(H*W*rate) // 2)
///     out = abs(real(ifft2(ifftshift(F), norm="forward")))   # inverse unscaled
///
/// No gradient: the feature is computed once per image, from the image itself.
public enum HighPass {
    /// Validates a `highPassFiltered` call: a (B, C, H, W) tensor with non-empty planes and a finite,
    /// non-negative rate. (`highPassFiltered` runs this as a precondition; code holding user data calls it
    /// first to get a `ToolkitError` instead.)
    public static func check(shape: [Int], rate: Float) throws {
        guard shape.count == 4 else {
            throw ToolkitError(.mismatch, "highPassFiltered expects a B x C x H x W tensor, got shape \(shape)")
        }
        guard shape[2] > 0, shape[3] > 0 else {
            throw ToolkitError(.mismatch, "highPassFiltered: empty H x W planes in shape \(shape)")
        }
        let (planeSize, overflow) = shape[2].multipliedReportingOverflow(by: shape[3])
        guard !overflow, planeSize <= Int(Int32.max) else {
            throw ToolkitError(.unsupported, "highPassFiltered: planes of \(shape[2]) x \(shape[3]) are larger than KISS FFT's int sizes")
        }
        guard rate.isFinite, rate >= 0 else {
            throw ToolkitError(.invalidArgument, "highPassFiltered: rate must be finite and >= 0, got \(rate)")
        }
    }

    /// Half-width `l` of the zeroed low-frequency square: `int((H * W * rate) ** .5 // 2)`, in double
    /// precision as the reference computes it, with `rate` read as the decimal it prints as (so `0.1`
    /// is Python's `0.1`, not the nearest Float widened to Double, which could move `l` at a boundary).
    public static func halfWidth(height: Int, width: Int, rate: Float) -> Int {
        let r = Double("\(rate)") ?? Double(rate)
        return Int((pow(Double(height * width) * r, 0.5) / 2).rounded(.down))
    }

    /// The fftshift-ed indices that the reference's slice `[n//2 - l : n//2 + l]` selects, by Python's
    /// slice rules: a negative start counts from the end, both ends are clamped to 0...n. (A negative
    /// start happens only for planes far from square, where `l` exceeds half the short side; the
    /// reference then zeroes the tail of that axis, and so does this.)
    public static func maskedRange(size n: Int, halfWidth l: Int) -> Range<Int> {
        func clamp(_ i: Int) -> Int { i < 0 ? Swift.max(i + n, 0) : Swift.min(i, n) }
        let lo = clamp(n / 2 - l), hi = clamp(n / 2 + l)
        return lo..<Swift.max(lo, hi)
    }

    /// Where fftshift-ed index `s` of an axis of size `n` sits before the shift. `torch.fft.fftshift`
    /// rolls by floor(n/2), so shifted index s holds unshifted index (s - floor(n/2)) mod n, and
    /// `ifftshift` rolls back by the same floor(n/2): the two are exact inverses for odd n too. Zeroing
    /// shifted index s between the two shifts is therefore zeroing unshifted index `unshifted(s)`,
    /// which is what the kernel does (no shifted copy is made).
    public static func unshifted(_ s: Int, size n: Int) -> Int { ((s - n / 2) % n + n) % n }

    /// Unshifted (row, column) indices of the zeroed frequencies.
    static func maskedIndices(height h: Int, width w: Int, rate: Float) -> (rows: [Int], cols: [Int]) {
        let l = halfWidth(height: h, width: w, rate: rate)
        return (maskedRange(size: h, halfWidth: l).map { unshifted($0, size: h) },
                maskedRange(size: w, halfWidth: l).map { unshifted($0, size: w) })
    }
}

/// One thread's forward and inverse 2-D transforms of an H x W plane and two complex buffers. A
/// kiss_fftnd cfg carries its own scratch buffer, so a workspace serves one plane at a time.
private final class HighPassWorkspace {
    let h: Int, w: Int
    let forward: kiss_fftnd_cfg, inverse: kiss_fftnd_cfg
    let a: UnsafeMutablePointer<kiss_fft_cpx>, b: UnsafeMutablePointer<kiss_fft_cpx>

    init(height: Int, width: Int) {
        (h, w) = (height, width)
        let dims: [Int32] = [Int32(height), Int32(width)]
        guard let f = kiss_fftnd_alloc(dims, 2, 0, nil, nil), let i = kiss_fftnd_alloc(dims, 2, 1, nil, nil) else {
            preconditionFailure("highPassFiltered: KISS FFT could not allocate a \(height) x \(width) plan")
        }
        (forward, inverse) = (f, i)
        a = .allocate(capacity: height * width)
        b = .allocate(capacity: height * width)
    }

    deinit {
        free(UnsafeMutableRawPointer(forward))
        free(UnsafeMutableRawPointer(inverse))
        a.deallocate()
        b.deallocate()
    }

    /// out = |real(ifft2(M * fft2(x)))| * scale, with M zero at (rows x cols) (unshifted) and one elsewhere.
    func filter(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, rows: [Int], cols: [Int], scale: Float) {
        let n = h * w
        for k in 0..<n { a[k] = kiss_fft_cpx(r: x[k], i: 0) }
        kiss_fftnd(forward, a, b)
        for r in rows {
            let row = b + r * w
            for c in cols { row[c] = kiss_fft_cpx(r: 0, i: 0) }
        }
        kiss_fftnd(inverse, b, a)
        for k in 0..<n { out[k] = abs(a[k].r * scale) }
    }
}

/// Workspaces shared by the planes of one call: a plane takes a free one or makes one, and gives it back.
/// At most one workspace per concurrently running plane is ever made.
private final class HighPassWorkspacePool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [HighPassWorkspace] = []
    private let h: Int, w: Int
    init(height: Int, width: Int) { (h, w) = (height, width) }

    func withWorkspace(_ body: (HighPassWorkspace) -> Void) {
        let ws = lock.withLock { idle.popLast() } ?? HighPassWorkspace(height: h, width: w)
        body(ws)
        lock.withLock { idle.append(ws) }
    }
}

extension Tensor {
    /// SSM-SAM's handcrafted high-pass feature of a (B, C, H, W) image tensor (see `HighPass`): each
    /// H x W plane with its low frequencies removed (a centred square of half-width
    /// `l = int(sqrt(H*W*rate) // 2)` of the fftshift-ed spectrum, which holds the DC term whenever
    /// l >= 1), back in the spatial domain, absolute value. Matches EVP / SAM-Adapter's
    /// `fft(x, rate)` on `torch.fft` for odd and non-square planes too. Planes run in parallel, each
    /// through KISS FFT's complex 2-D transform. Not differentiable (the feature has no gradient).
    public func highPassFiltered(rate: Float = 0.25) -> Tensor {
        checked { try HighPass.check(shape: shape, rate: rate) }
        let (h, w) = (shape[2], shape[3])
        let planes = shape[0] * shape[1], n = h * w
        var out = Tensor(uninitializedShape: shape)
        if planes == 0 { return out }
        let (rows, cols) = HighPass.maskedIndices(height: h, width: w, rate: rate)
        // norm="forward": the forward transform carries 1/(H*W), the inverse none; applied once at the end.
        let scale = 1 / Float(n)
        let pool = HighPassWorkspacePool(height: h, width: w)
        data.withUnsafeBufferPointer { px in out.data.withUnsafeMutableBufferPointer { po in
            let (X, O) = (px.baseAddress!, po.baseAddress!)
            Parallel.forEach(planes) { p in
                pool.withWorkspace { $0.filter(X + p * n, into: O + p * n, rows: rows, cols: cols, scale: scale) }
            }
        } }
        return out
    }
}
