import XCTest
import Diagnostics
import TensorCore

/// `highPassFiltered` (SSM-SAM's FFT high-pass feature) against EVP / SAM-Adapter's `fft` on torch.fft
/// (Fixtures/highpass.safetensors, scripts/make_highpass_fixtures.py), and its structure: a constant
/// image has nothing left, the output is never negative, rate 0 gives back |x|.
final class HighPassTests: XCTestCase {
    // The fixture's inputs, made here exactly as the script makes them (integer arithmetic only).

    /// The high byte of a 32-bit LCG, `count` times (the script's lcg_bytes).
    static func bytes(seed: UInt32, count: Int) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 1664525 &+ 1013904223
            return UInt8(state >> 24)
        }
    }

    /// Uniform 8-bit noise mapped to [-1, 1]: (b - 127.5) / 127.5 in Float (the script's signed_noise).
    static func signedNoise(_ shape: [Int], seed: UInt32) -> Tensor {
        Tensor(shape: shape, data: bytes(seed: seed, count: shape.reduce(1, *)).map { (Float($0) - 127.5) / 127.5 })
    }

    /// A bowl plus a ramp, brighter per channel, plus +-12 noise, as 8-bit values / 255 (the script's smooth_image).
    static func smoothImage(_ shape: [Int], seed: UInt32) -> Tensor {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let noise = bytes(seed: seed, count: n * c * h * w)
        let peak = (h / 2) * (h - 1 - h / 2) + (w / 2) * (w - 1 - w / 2)
        var data: [Float] = [], k = 0
        for _ in 0..<n { for ch in 0..<c { for i in 0..<h { for j in 0..<w {
            let bowl = i * (h - 1 - i) + j * (w - 1 - j)
            let s = 30 + bowl * 140 / peak + (i + 2 * j) * 40 / (h + 2 * w) + 10 * ch
            data.append(Float(min(255, max(0, s + Int(noise[k]) % 25 - 12))) / 255)
            k += 1
        } } } }
        return Tensor(shape: shape, data: data)
    }

    func testMatchesTorch() throws {
        let f = try Fixture("highpass")
        let names = try XCTUnwrap(f.params["cases"] as? [String])
        XCTAssertEqual(names.count, 6)
        for name in names {
            let p = try XCTUnwrap(f.params[name] as? [String: Any], name)
            let shape = try XCTUnwrap((p["shape"] as? [NSNumber])?.map(\.intValue), name)
            let seed = try XCTUnwrap((p["seed"] as? NSNumber)?.uint32Value, name)
            let rate = try XCTUnwrap((p["rate"] as? NSNumber)?.floatValue, name)
            let x = p["input"] as? String == "smooth" ? Self.smoothImage(shape, seed: seed) : Self.signedNoise(shape, seed: seed)
            let inSum = try XCTUnwrap((p["in_sum"] as? NSNumber)?.doubleValue, name)
            let sum = x.data.reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(sum, inSum, accuracy: 1e-9 * Double(x.count), "\(name): the input generator differs from the script's")
            XCTAssertEqual(HighPass.halfWidth(height: shape[2], width: shape[3], rate: rate),
                           (p["line"] as? NSNumber)?.intValue, "\(name): l")

            let expected = try f.tensor("\(name).out")
            let out = x.highPassFiltered(rate: rate)
            XCTAssertEqual(out.shape, expected.shape, name)
            let peak = expected.maxAbs
            let err = zip(out.data, expected.data).map { abs($0 - $1) }.max() ?? 0
            print("HighPassTests: \(name) \(shape) rate \(rate): max |error| \(err) = \(err / peak) of max |out| \(peak)")
            XCTAssertLessThanOrEqual(err, 1e-5 * peak, "\(name): max |error| \(err), max |out| \(peak)")
        }
    }

    func testConstantImageHasNothingLeft() {
        // The DC term is zeroed whenever l >= 1 (a 9 x 1 plane needs rate >= 4/9 for that).
        for (shape, value, rate) in [([2, 3, 17, 24], Float(7.5), Float(0.25)), ([1, 1, 32, 32], -3, 0.01), ([1, 2, 9, 1], 1, 1)] {
            XCTAssertGreaterThanOrEqual(HighPass.halfWidth(height: shape[2], width: shape[3], rate: rate), 1)
            let out = Tensor(shape: shape, repeating: value).highPassFiltered(rate: rate)
            XCTAssertEqual(out.shape, shape)
            XCTAssertLessThanOrEqual(out.maxAbs, 1e-6 * abs(value), "constant \(value) on \(shape)")
        }
    }

    func testOutputIsNonNegative() {
        for shape in [[2, 3, 33, 40], [1, 2, 64, 48], [3, 1, 7, 5]] {
            let out = Self.signedNoise(shape, seed: 11).highPassFiltered(rate: 0.25)
            XCTAssert(out.data.allSatisfy { $0 >= 0 && $0.isFinite }, "\(shape)")
            XCTAssertGreaterThan(out.maxAbs, 0.1, "\(shape): noise keeps its high frequencies")
        }
    }

    /// Rate 0 masks nothing: fft2 then ifft2 gives |x| back (the round trip and its scaling).
    func testRateZeroGivesAbsoluteValue() {
        let x = Self.signedNoise([2, 3, 21, 30], seed: 12)
        let out = x.highPassFiltered(rate: 0)
        let err = zip(out.data, x.data).map { abs($0 - abs($1)) }.max() ?? 1
        XCTAssertLessThanOrEqual(err, 1e-6)
    }

    func testShiftIndices() {
        for n in [1, 2, 5, 8, 33, 40] {
            // torch.fft.fftshift rolls by floor(n/2): shifted index n/2 holds frequency 0.
            XCTAssertEqual(HighPass.unshifted(n / 2, size: n), 0, "n = \(n)")
            // A bijection of 0..<n (so the ifftshift that follows undoes it exactly).
            XCTAssertEqual(Set((0..<n).map { HighPass.unshifted($0, size: n) }), Set(0..<n), "n = \(n)")
        }
        XCTAssertEqual((0..<5).map { HighPass.unshifted($0, size: 5) }, [3, 4, 0, 1, 2])  // fftshift of 0...4 is 3 4 0 1 2
        // Python slices: [n//2 - l : n//2 + l], a negative start counting from the end.
        XCTAssertEqual(HighPass.maskedRange(size: 64, halfWidth: 16), 16..<48)
        XCTAssertEqual(HighPass.maskedRange(size: 33, halfWidth: 9), 7..<25)
        XCTAssertEqual(HighPass.maskedRange(size: 8, halfWidth: 5), 7..<8)     // [-1:9]
        XCTAssertEqual(HighPass.maskedRange(size: 8, halfWidth: 20), 0..<8)    // [-16:24]
        XCTAssertEqual(HighPass.maskedRange(size: 8, halfWidth: 0), 4..<4)
        XCTAssertEqual(HighPass.halfWidth(height: 64, width: 64, rate: 0.25), 16)
        XCTAssertEqual(HighPass.halfWidth(height: 40, width: 100, rate: 0.1), 10)  // sqrt(400) exactly, in Python
        // Python: 4 * 140 * 0.35 = 196.0, sqrt 14, l = 7; Float(0.35) widened to Double gives 195.99999..., l = 6.
        XCTAssertEqual(HighPass.halfWidth(height: 4, width: 140, rate: 0.35), 7)
    }

    func testRejectsBadInput() {
        func kind(_ shape: [Int], _ rate: Float = 0.25) -> ToolkitError.Kind? {
            do { try HighPass.check(shape: shape, rate: rate); return nil } catch { return (error as? ToolkitError)?.kind }
        }
        XCTAssertNil(kind([1, 3, 8, 8]))
        XCTAssertNil(kind([0, 3, 8, 8]))  // no planes: an empty result
        XCTAssertEqual(kind([3, 8, 8]), .mismatch)
        XCTAssertEqual(kind([1, 1, 3, 8, 8]), .mismatch)
        XCTAssertEqual(kind([1, 3, 0, 8]), .mismatch)
        XCTAssertEqual(kind([1, 3, 8, 0]), .mismatch)
        XCTAssertEqual(kind([1, 3, 8, 8], -0.1), .invalidArgument)
        XCTAssertEqual(kind([1, 3, 8, 8], .nan), .invalidArgument)
        XCTAssertEqual(kind([1, 1, 1 << 16, 1 << 16]), .unsupported)
        XCTAssertEqual(Tensor.zeros([0, 3, 8, 8]).highPassFiltered().shape, [0, 3, 8, 8])
    }
}
