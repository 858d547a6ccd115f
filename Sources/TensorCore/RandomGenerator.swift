/// A seeded, deterministic pseudo-random generator: xoshiro256** 1.0 (D. Blackman and S. Vigna,
/// "Scrambled linear pseudorandom number generators", ACM TOMS 2021; reference C at
/// https://prng.di.unimi.it/xoshiro256starstar.c), its 256-bit state filled from the 64-bit seed by
/// SplitMix64 (https://prng.di.unimi.it/splitmix64.c), as its authors recommend.
///
/// The same seed gives the same tensors bit for bit on every machine: sampling is sequential (no
/// dependence on thread count) and uses only integer operations and correctly rounded IEEE-754
/// `+ - * / sqrt`, with a natural log of its own, because platform `log`/`sin`/`cos` may differ in the
/// last bit. It plays the role of `torch.Generator` with `torch.manual_seed`, but it is not PyTorch's
/// generator (mt19937 / Philox): its samples follow the same distributions as torch's, not the same values.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    /// The seed this stream was made from; child streams derive from it (see `generator(for:)`).
    public let seed: UInt64
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A stream seeded like `torch.manual_seed(seed)`: equal seeds give equal streams.
    public init(seed: UInt64) {
        self.seed = seed
        var sm = seed
        s0 = Self.splitMix64(&sm); s1 = Self.splitMix64(&sm)
        s2 = Self.splitMix64(&sm); s3 = Self.splitMix64(&sm)
    }

    /// The next 64 random bits (xoshiro256**).
    public mutating func next() -> UInt64 {
        let result = Self.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = Self.rotl(s3, 45)
        return result
    }

    // MARK: Child streams

    /// An independent stream for `name` (e.g. a parameter's name): derived from this stream's seed and a
    /// stable hash of the name (64-bit FNV-1a of its UTF-8 bytes, not Swift's per-process `hashValue`),
    /// never from the current state, so a model's parameters get the same values whatever order they
    /// are initialised in. Children can have children (`g.generator(for: "encoder").generator(for: "w")`).
    public func generator(for name: String) -> SeededGenerator {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a 64 offset basis and prime
        for byte in name.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return child(key: h, domain: 0x6E61_6D65)  // "name"
    }

    /// An independent stream for a non-negative `index` (e.g. a worker or an episode), derived like
    /// `generator(for:)` from the seed only.
    public func generator(index: Int) -> SeededGenerator {
        precondition(index >= 0, "SeededGenerator.generator(index:): negative index \(index)")
        return child(key: UInt64(index), domain: 0x696E_6478)  // "indx"
    }

    /// The SplitMix64 finaliser is a bijection of UInt64, so distinct keys give distinct child seeds;
    /// the domain keeps name and index children apart.
    private func child(key: UInt64, domain: UInt64) -> SeededGenerator {
        SeededGenerator(seed: Self.mix64(seed ^ Self.mix64(key ^ (domain << 32))))
    }

    // MARK: Scalars

    /// Uniform in [0, 1) on the 2^-24 grid: the top 24 bits, as torch's `uniform_` does for float32.
    @inlinable public mutating func nextUnitFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in [0, 1) on the 2^-53 grid.
    @inlinable public mutating func nextUnitDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Two independent standard normal samples by Marsaglia's polar form of the Box-Muller transform
    /// (needs only log and sqrt, so it stays bit-reproducible; rejects about 21% of the point pairs).
    public mutating func nextNormalPair() -> (Double, Double) {
        while true {
            let u = 2 * nextUnitDouble() - 1, v = 2 * nextUnitDouble() - 1
            let s = u * u + v * v
            if s >= 1 || s == 0 { continue }
            let f = (-2 * Self.log(s) / s).squareRoot()
            return (u * f, v * f)
        }
    }

    // MARK: Tensors

    /// Elements uniform on [low, high] (`Tensor.uniform_(low, high)`), drawn in row-major order.
    public mutating func uniform(_ shape: [Int], low: Float = 0, high: Float = 1) -> Tensor {
        precondition(low <= high, "uniform: low \(low) > high \(high)")
        var t = Tensor(uninitializedShape: shape)
        let lo = Double(low), width = Double(high) - Double(low)
        t.data.withUnsafeMutableBufferPointer { out in
            for i in out.indices { out[i] = nextUniform(lo, width) }
        }
        return t
    }

    /// low + u (high - low) for u on the 2^-24 grid of [0, 1), like torch's float32 `uniform_`, evaluated in
    /// Double and rounded once, so that the result never leaves [low, high] (it can round to high).
    @inline(__always) mutating func nextUniform(_ low: Double, _ width: Double) -> Float {
        Float(low + Double(nextUnitFloat()) * width)
    }

    /// Elements normal with the given mean and standard deviation (`torch.normal` / `Tensor.normal_`),
    /// drawn in row-major order, pairs from `nextNormalPair()`; computed in Double, rounded once to Float.
    public mutating func normal(_ shape: [Int], mean: Float = 0, std: Float = 1) -> Tensor {
        precondition(std >= 0, "normal: negative std \(std)")
        var t = Tensor(uninitializedShape: shape)
        let m = Double(mean), s = Double(std)
        t.data.withUnsafeMutableBufferPointer { out in
            var i = 0
            while i < out.count {
                let (a, b) = nextNormalPair()
                out[i] = Float(m + s * a)
                if i + 1 < out.count { out[i + 1] = Float(m + s * b) }  // an odd count drops the last b
                i += 2
            }
        }
        return t
    }

    // MARK: Arithmetic

    @inline(__always) private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// SplitMix64's output function (Stafford's "Mix13" finaliser).
    @inline(__always) static func mix64(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// One SplitMix64 step.
    @inline(__always) static func splitMix64(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return mix64(state)
    }

    /// Natural log of a finite x > 0 (0 gives -infinity) from IEEE arithmetic only, so that every platform
    /// gets the same bits: x = m 2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s) with
    /// s = (m - 1)/(m + 1), |s| <= 0.172, whose odd series reaches double precision by s^23.
    static func log(_ x: Double) -> Double {
        precondition(x >= 0 && x.isFinite, "SeededGenerator.log: \(x)")
        if x == 0 { return -.infinity }
        var m = x.significand  // [1, 2), subnormals included
        var e = Double(x.exponent)
        if m > 1.4142135623730951 { m *= 0.5; e += 1 }
        let s = (m - 1) / (m + 1), s2 = s * s
        var p = 1.0 / 23  // Horner over 1/23, 1/21, ..., 1/1 (the quotients fold at compile time)
        p = p * s2 + 1.0 / 21; p = p * s2 + 1.0 / 19; p = p * s2 + 1.0 / 17; p = p * s2 + 1.0 / 15
        p = p * s2 + 1.0 / 13; p = p * s2 + 1.0 / 11; p = p * s2 + 1.0 / 9; p = p * s2 + 1.0 / 7
        p = p * s2 + 1.0 / 5; p = p * s2 + 1.0 / 3; p = p * s2 + 1
        // ln 2 split so that e * ln2Hi is exact for |e| < 2^11.
        let ln2Hi = 6.93147180369123816490e-01, ln2Lo = 1.90821492927058770002e-10
        return e * ln2Hi + (2 * s * p + e * ln2Lo)
    }
}
