/// The element types that checkpoints carry. Computation is always Float32; other dtypes are
/// storage that converts to and from Float32 (`DType.decode` / `DType.encode`).
public enum DType: String, CaseIterable, Sendable, Codable {
    case f32, f16, bf16, f64, i64, i32, i16, i8, u8, bool

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }

    /// Whether the type is a floating-point type.
    public var isFloatingPoint: Bool { self == .f32 || self == .f16 || self == .bf16 || self == .f64 }

    /// Converts `count` little-endian elements of this dtype at `bytes` to Float32.
    /// Integers wider than 24 bits lose precision, as `tensor.float()` does in PyTorch.
    public func decode(_ bytes: UnsafeRawBufferPointer, count: Int) -> [Float] {
        precondition(bytes.count >= count * byteSize,
                     "DType.decode: \(bytes.count) bytes hold fewer than \(count) \(rawValue) elements")
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { dst in
            switch self {
            case .f32: for i in 0..<count { dst[i] = Float(bitPattern: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian) }
            case .f64: for i in 0..<count { dst[i] = Float(Double(bitPattern: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian)) }
            case .f16: for i in 0..<count { dst[i] = HalfFloat.toFloat(bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) }
            case .bf16: for i in 0..<count { dst[i] = Float(bitPattern: UInt32(bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16) }
            case .i64: for i in 0..<count { dst[i] = Float(Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
            case .i32: for i in 0..<count { dst[i] = Float(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
            case .i16: for i in 0..<count { dst[i] = Float(Int16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
            case .i8: for i in 0..<count { dst[i] = Float(bytes.load(fromByteOffset: i, as: Int8.self)) }
            case .u8: for i in 0..<count { dst[i] = Float(bytes[i]) }
            case .bool: for i in 0..<count { dst[i] = bytes[i] != 0 ? 1 : 0 }
            }
        }
        return out
    }

    /// Encodes Float32 values as little-endian elements of this dtype (round to nearest even for
    /// f16/bf16, truncation toward zero for integers, as PyTorch's `.to(dtype)`).
    public func encode(_ values: [Float]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: values.count * byteSize)
        out.withUnsafeMutableBytes { dst in
            for (i, v) in values.enumerated() {
                switch self {
                case .f32: dst.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
                case .f64: dst.storeBytes(of: Double(v).bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self)
                case .f16: dst.storeBytes(of: HalfFloat.fromFloat(v).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                case .bf16: dst.storeBytes(of: BFloat16.fromFloat(v).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                case .i64: dst.storeBytes(of: Int64(v).littleEndian, toByteOffset: 8 * i, as: Int64.self)
                case .i32: dst.storeBytes(of: Int32(v).littleEndian, toByteOffset: 4 * i, as: Int32.self)
                case .i16: dst.storeBytes(of: Int16(v).littleEndian, toByteOffset: 2 * i, as: Int16.self)
                case .i8: dst.storeBytes(of: Int8(v), toByteOffset: i, as: Int8.self)
                case .u8: dst.storeBytes(of: UInt8(v), toByteOffset: i, as: UInt8.self)
                case .bool: dst.storeBytes(of: UInt8(v != 0 ? 1 : 0), toByteOffset: i, as: UInt8.self)
                }
            }
        }
        return out
    }
}

/// IEEE 754 binary16 conversion through Swift's `Float16` (bit-exact, round to nearest even).
public enum HalfFloat {
    /// binary16 bits to Float32.
    public static func toFloat(_ h: UInt16) -> Float { Float(Float16(bitPattern: h)) }
    /// Float32 to binary16 bits, round to nearest even, overflow to infinity.
    public static func fromFloat(_ f: Float) -> UInt16 { Float16(f).bitPattern }
}

/// bfloat16 conversion (round to nearest even, NaN kept quiet).
public enum BFloat16 {
    /// Float32 to bfloat16 bits.
    public static func fromFloat(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        if f.isNaN { return UInt16(bits >> 16) | 0x0040 }
        let rounding = UInt32(0x7fff) + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }
}
