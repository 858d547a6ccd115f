import Foundation
import TensorCore

/// One tensor as a checkpoint stores it: dtype, shape and contiguous little-endian bytes.
/// `bytes` may be a slice of a memory-mapped file (no copy).
public struct StoredTensor: Equatable {
    public var dtype: DType
    public var shape: [Int]
    public var bytes: Data

    public init(dtype: DType, shape: [Int], bytes: Data) {
        precondition(bytes.count == shape.product * dtype.byteSize,
                     "StoredTensor: \(bytes.count) bytes for \(dtype.rawValue) \(shape)")
        (self.dtype, self.shape, self.bytes) = (dtype, shape, bytes)
    }

    /// Stores a Float32 tensor as `dtype` (f32 by default).
    public init(_ tensor: Tensor, as dtype: DType = .f32) {
        self.init(dtype: dtype, shape: tensor.shape, bytes: Data(dtype.encode(tensor.data)))
    }

    /// Number of elements.
    public var count: Int { shape.product }

    /// The values as a Float32 tensor.
    public var floatTensor: Tensor {
        Tensor(shape: shape, data: bytes.withUnsafeBytes { dtype.decode($0, count: count) })
    }
}

/// An ordered map from parameter names to stored tensors: what every checkpoint format reads into.
public struct StateDict: Equatable {
    public private(set) var names: [String] = []
    private var tensors: [String: StoredTensor] = [:]

    public init() {}

    /// Number of entries.
    public var count: Int { names.count }

    /// The tensor named `name`, if any. Setting appends new names at the end and keeps order otherwise.
    public subscript(name: String) -> StoredTensor? {
        get { tensors[name] }
        set {
            if let v = newValue {
                if tensors.updateValue(v, forKey: name) == nil { names.append(name) }
            } else if tensors.removeValue(forKey: name) != nil {
                names.removeAll { $0 == name }
            }
        }
    }

    /// (name, tensor) pairs in order.
    public var entries: [(name: String, tensor: StoredTensor)] { names.map { ($0, tensors[$0]!) } }

    /// Total number of elements over all tensors.
    public var parameterCount: Int { tensors.values.reduce(0) { $0 + $1.count } }
}
