import Diagnostics
import Foundation
import Formats
import TensorCore

/// 4-bit residuals on a known initialisation: how the catalogue stores SSM-SAM heads within its size budget.
/// A meta-trained head tensor is its seeded initialisation (regenerated, `HeadInitialisation`) plus a small
/// residual; the residual is quantised per row (the first axis) to the integers -7...7 times the row's scale
/// max|r| / 7, two values per byte (low nibble first, stored as q + 8). `NAME` holds the bytes (U8) and
/// `NAME:scale` the row scales (F32). The published model is what decoding gives: the package's golden
/// outputs and its recorded Dice are computed from it, never from the unquantised weights.
public enum ResidualCodec {
    /// `weights.encoding` of such packages.
    public static let encoding = "q4-residual"
    /// Suffix of a residual tensor's row scales.
    public static let scaleSuffix = ":scale"

    /// Rows of a tensor of `shape` (its first axis; one row for scalars and vectors).
    static func rows(_ shape: [Int]) -> Int { shape.count >= 2 ? shape[0] : 1 }

    /// The encoded form of every tensor of `trained` that `initial` has (f32, same shape); other tensors
    /// are kept as they are. Returns the stored tensors and the largest absolute error decoding will make.
    public static func encode(_ trained: StateDict, on initial: StateDict) throws -> (stored: StateDict, maxError: Float) {
        var out = StateDict(), worst: Float = 0
        for (name, t) in trained.entries {
            guard let i = initial[name] else { out[name] = t; continue }
            guard i.shape == t.shape else {
                throw ToolkitError(.mismatch, subject: name, "shape \(t.shape), its initialisation \(i.shape)")
            }
            let a = t.floatTensor.data, b = i.floatTensor.data
            let n = a.count, r = rows(t.shape), width = n / max(r, 1)
            var scales = [Float](repeating: 0, count: r)
            var packed = [UInt8](repeating: 0, count: (n + 1) / 2)
            for row in 0..<r {
                var m: Float = 0
                for k in row * width..<(row + 1) * width { m = max(m, abs(a[k] - b[k])) }
                let scale = m / 7
                scales[row] = scale
                for k in row * width..<(row + 1) * width {
                    let q = scale > 0 ? Int(((a[k] - b[k]) / scale).rounded()).clamped(-7, 7) : 0
                    let decoded = b[k] + Float(q) * scale
                    worst = max(worst, abs(decoded - a[k]))
                    packed[k / 2] |= UInt8(q + 8) << (k % 2 == 0 ? 0 : 4)
                }
            }
            out[name] = StoredTensor(dtype: .u8, shape: [packed.count], bytes: Data(packed))
            out[name + scaleSuffix] = StoredTensor(Tensor(shape: [r], data: scales))
        }
        return (out, worst)
    }

    /// The model's tensors from stored ones: every `NAME` with a `NAME:scale` is decoded on `initial[NAME]`;
    /// other tensors are returned as they are. `file` names the weight file in errors.
    public static func decode(_ stored: StateDict, on initial: StateDict, file: String) throws -> StateDict {
        var out = StateDict()
        for (name, t) in stored.entries where !name.hasSuffix(scaleSuffix) {
            guard let s = stored[name + scaleSuffix] else { out[name] = t; continue }
            guard let i = initial[name] else {
                throw ToolkitError(.invalidFile, subject: file, "\(name) is a residual, but the initialisation has no tensor of that name")
            }
            let n = i.count, r = rows(i.shape)
            guard t.dtype == .u8, t.shape == [(n + 1) / 2] else {
                throw ToolkitError(.invalidFile, subject: file, "\(name): residual of \(i.shape) must be U8 [\((n + 1) / 2)], found \(t.dtype) \(t.shape)")
            }
            guard s.shape == [r] else { throw ToolkitError(.invalidFile, subject: file, "\(name)\(scaleSuffix): expected [\(r)] row scales, found \(s.shape)") }
            let scales = s.floatTensor.data
            guard scales.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw ToolkitError(.invalidFile, subject: file, "\(name)\(scaleSuffix): row scales must be finite and non-negative")
            }
            let bytes = [UInt8](t.bytes), width = n / max(r, 1)
            var v = i.floatTensor.data
            for k in 0..<n {
                let nibble = Int(k % 2 == 0 ? bytes[k / 2] & 0x0F : bytes[k / 2] >> 4)
                guard (1...15).contains(nibble) else {
                    throw ToolkitError(.invalidFile, subject: file, "\(name): residual code \(nibble) at \(k) is outside 1...15")
                }
                v[k] += Float(nibble - 8) * scales[k / max(width, 1)]
            }
            out[name] = StoredTensor(Tensor(shape: i.shape, data: v))
        }
        for (name, _) in stored.entries where name.hasSuffix(scaleSuffix) && stored[String(name.dropLast(scaleSuffix.count))] == nil {
            throw ToolkitError(.invalidFile, subject: file, "\(name) has no residual \(name.dropLast(scaleSuffix.count))")
        }
        return out
    }
}

private extension Int {
    func clamped(_ low: Int, _ high: Int) -> Int { Swift.min(Swift.max(self, low), high) }
}
