import CKernels

/// Vectorised elementary functions for the hot loops (softmax, attention).
public enum VectorMath {
    /// exp on 8 lanes: Cody-Waite range reduction to [-ln2/2, ln2/2], degree-6 polynomial, scaling by
    /// 2^n through the exponent bits. Relative error below 2e-7 on [-87, 88]; saturates outside.
    @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let clamped = x.clamped(lowerBound: SIMD8(repeating: -87.3), upperBound: SIMD8(repeating: 88.7))
        let n = (clamped * 1.44269504088896341).rounded(.toNearestOrEven)
        var r = clamped - n * 0.693359375
        r = r - n * -2.12194440e-4
        // Taylor/minimax coefficients of exp(r) (Cephes expf).
        var p = SIMD8<Float>(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        p = p * r * r + r + 1
        let bits = (SIMD8<Int32>(n) &+ 127) &<< 23
        return p * unsafeBitCast(bits, to: SIMD8<Float>.self)
    }

    /// In place: row = softmax(row) for `n` contiguous floats (AVX2 kernel in CKernels).
    @inline(__always)
    public static func softmaxInPlace(_ row: UnsafeMutablePointer<Float>, _ n: Int) { ssm_softmax_row(row, n) }

    /// line[ky * w + kx] += rh[ky] + rw[kx]: SAM's decomposed relative positions on one logits row.
    @inline(__always)
    public static func addRelativePosition(_ line: UnsafeMutablePointer<Float>, rh: UnsafePointer<Float>,
                                           rw: UnsafePointer<Float>, h: Int, w: Int) {
        ssm_add_relative_position(line, rh, rw, h, w)
    }

    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always) static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }
}
