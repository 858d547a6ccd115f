import CGEMM
import XCTest
import TensorCore

/// bf16 products (`--precision bf16`): rounding against torch's bfloat16, products against torch's
/// bf16-rounded product (scripts/make_bf16_fixtures.py), and the refusal on CPUs without bf16.
final class ReducedPrecisionTests: XCTestCase {
    func testRoundingMatchesTorch() throws {
        let f = try Fixture("bf16")
        let values = try f.tensor("in.values").data, expected = try f.tensor("bits").data
        var bits = [UInt16](repeating: 0, count: values.count)
        ssm_f32_to_bf16(values, &bits, values.count)
        for i in values.indices where UInt16(expected[i]) != bits[i] {
            XCTFail("bf16 of \(values[i]): 0x\(String(bits[i], radix: 16)), torch 0x\(String(UInt16(expected[i]), radix: 16))")
            return
        }
        var back = [Float](repeating: 0, count: values.count)
        ssm_bf16_to_f32(bits, &back, bits.count)
        XCTAssertEqual(back[2], 1)
        var nan: UInt16 = 0
        ssm_f32_to_bf16([Float.nan], &nan, 1)
        var nanBack: Float = 0
        ssm_bf16_to_f32(&nan, &nanBack, 1)
        XCTAssertTrue(nanBack.isNaN, "NaN must stay NaN")
    }

    /// The conversion runs 16 lanes wide where the CPU has AVX-512 and one value at a time for the tail: both
    /// give torch's bits, whichever lane or tail a value lands in (one value alone, and the array shifted by 1..15).
    func testEveryLaneAndTheTailRoundLikeTorch() throws {
        let f = try Fixture("bf16")
        let values = try f.tensor("in.values").data, expected = try f.tensor("bits").data.map { UInt16($0) }
        for i in values.indices {
            var one: UInt16 = 0
            ssm_f32_to_bf16([values[i]], &one, 1)
            XCTAssertEqual(one, expected[i], "bf16 of \(values[i]) alone")
        }
        for shift in 1..<16 {
            let part = Array(values[shift...])
            var bits = [UInt16](repeating: 0, count: part.count)
            ssm_f32_to_bf16(part, &bits, part.count)
            if let i = bits.indices.first(where: { bits[$0] != expected[shift + $0] }) {
                XCTFail("shifted by \(shift): bf16 of \(part[i]) is 0x\(String(bits[i], radix: 16)), torch 0x\(String(expected[shift + i], radix: 16))")
            }
        }
    }

    func testRefusalNamesWhatIsMissing() {
        let plain = CPUInfo(brand: "Old CPU", flags: ["avx2", "fma"], osSavesYMM: true, osSavesZMM: false)
        let reason = GEMMPrecision.unsupportedReason(.bf16, cpu: plain)
        XCTAssertNotNil(reason)
        XCTAssertTrue(reason?.contains("AMX-BF16 or AVX512-BF16") == true && reason?.contains("Old CPU") == true, reason ?? "")
        XCTAssertNil(GEMMPrecision.unsupportedReason(.fp32, cpu: plain))
        let bf16 = CPUInfo(brand: "New CPU", flags: ["avx512_bf16", "avx512f"], osSavesYMM: true, osSavesZMM: true)
        if ssm_dnnl_available() != 0 {
            let r = GEMMPrecision.unsupportedReason(.bf16, cpu: bf16, oneDNNBF16: { false })
            XCTAssertTrue(r?.contains("could not create a bf16 matmul") == true, r ?? "nil")
        }
    }

    /// A product on a held weight runs in bf16 (it equals torch's bf16-rounded product to fp32 rounding, and
    /// differs from the fp32 product); outside the context, or on a weight not held, it is fp32.
    func testProductsOnHeldWeights() throws {
        let f = try Fixture("bf16")
        let a = try f.tensor("in.a"), w = try f.tensor("in.w"), expected = try f.tensor("out.linear")
        if let why = GEMMPrecision.unsupportedReason(.bf16) {
            // This CPU cannot: the refusal is the behaviour to check.
            XCTAssertTrue(why.contains("bf16"), why)
            return
        }
        let fp32 = Tensor.linear(a, weight: w, bias: nil)
        let held = BF16Weights([w])
        XCTAssertEqual(held.count, 1)
        let bf16 = ReducedPrecision.with(held) { Tensor.linear(a, weight: w, bias: nil) }
        let scale = expected.data.map(abs).max()!
        let err = zip(bf16.data, expected.data).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(err, 1e-5 * scale, "bf16 product vs torch's bf16-rounded product")
        let fromFP32 = zip(fp32.data, expected.data).map { abs($0 - $1) }.max()!
        XCTAssertGreaterThan(fromFP32, 100 * err, "the fp32 product must differ from the bf16 one (else bf16 did not run)")
        // A bias, a row offset into the weight (a view), alpha and beta.
        let bias = Tensor(shape: [w.shape[0]], data: (0..<w.shape[0]).map { Float($0) })
        let withBias = ReducedPrecision.with(held) { Tensor.linear(a, weight: w, bias: bias) }
        for r in 0..<a.shape[0] { for c in 0..<w.shape[0] {
            XCTAssertEqual(withBias.data[r * w.shape[0] + c], expected.data[r * w.shape[0] + c] + bias.data[c], accuracy: 1e-5 * scale)
        } }
        let k = w.shape[1], rows = 5
        var c = [Float](repeating: 1, count: a.shape[0] * rows)
        ReducedPrecision.with(held) {
            a.data.withUnsafeBufferPointer { pa in w.data.withUnsafeBufferPointer { pw in
                BLAS.sgemm(transA: false, transB: true, m: a.shape[0], n: rows, k: k, alpha: 2, a: pa.baseAddress!, lda: k,
                           b: pw.baseAddress! + 3 * k, ldb: k, beta: 1, c: &c, ldc: rows)
            } }
        }
        for r in 0..<a.shape[0] { for j in 0..<rows {
            XCTAssertEqual(c[r * rows + j], 2 * expected.data[r * w.shape[0] + 3 + j] + 1, accuracy: 2e-5 * scale)
        } }
        // Not held (a copy of the weight has other storage): fp32.
        var copy = w
        copy.data[0] += 0
        let other = ReducedPrecision.with(held) { Tensor.linear(a, weight: copy, bias: nil) }
        XCTAssertEqual(other, fp32)
        XCTAssertEqual(Tensor.linear(a, weight: w, bias: nil), fp32, "outside the context products are fp32")
    }

    /// Attention's activation products in bf16 inside the context (inference only): within bf16's precision of
    /// the fp32 result, not equal to it; the recording forward (with log-sum-exp, for training) stays fp32.
    func testAttentionInBF16() throws {
        guard GEMMPrecision.unsupportedReason(.bf16) == nil else { return testRefusalNamesWhatIsMissing() }
        var rng = SystemRandomNumberGenerator()
        func random(_ shape: [Int]) -> Tensor { Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &rng) }) }
        let (bh, h, w, d) = (3, 6, 5, 16)
        let q = random([bh, h, w, d]), k = random([bh, h * w, d]), v = random([bh, h * w, d])
        let relH = random([bh, h, w, h]), relW = random([bh, h, w, w])
        let fp32 = FusedAttention.relativePosition(q: q, k: k, v: v, relH: relH, relW: relW, scale: 0.25)
        let held = BF16Weights([])
        for keys in [w, FusedAttention.keysPerTile] {  // several key tiles (one line each), and one
            let bf16 = ReducedPrecision.with(held) {
                FusedAttention.relativePosition(q: q, k: k, v: v, relH: relH, relW: relW, scale: 0.25, keysPerTile: keys)
            }
            let err = zip(bf16.data, fp32.data).map { abs($0 - $1) }.max()!, scale = fp32.data.map(abs).max()!
            XCTAssertLessThan(err, 2e-2 * scale, "\(keys) keys per tile")
            XCTAssertGreaterThan(err, 1e-5 * scale, "bf16 must actually run (\(keys) keys per tile)")
        }
        let recorded = ReducedPrecision.with(held) { FusedAttention.relativePositionWithLSE(q: q, k: k, v: v, relH: relH, relW: relW, scale: 0.25).out }
        XCTAssertEqual(recorded, fp32, "the training forward stays fp32")
    }
}
