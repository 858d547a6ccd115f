import CKernels

/// The vectorised inner loops of attention (AVX2 kernels in CKernels), for modules above TensorCore.
public enum VectorMath {
    /// In place: row = softmax(row) for `n` contiguous floats (AVX2 kernel in CKernels).
    @inline(__always)
    public static func softmaxInPlace(_ row: UnsafeMutablePointer<Float>, _ n: Int) { ssm_softmax_row(row, n) }

    /// line[ky * w + kx] += rh[ky] + rw[kx]: SAM's decomposed relative positions on one logits row.
    @inline(__always)
    public static func addRelativePosition(_ line: UnsafeMutablePointer<Float>, rh: UnsafePointer<Float>,
                                           rw: UnsafePointer<Float>, h: Int, w: Int) {
        ssm_add_relative_position(line, rh, rw, h, w)
    }
}
