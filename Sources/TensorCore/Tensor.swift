import Diagnostics

/// A dense, row-major, contiguous Float32 tensor. Value semantics (copy on write through `[Float]`).
///
/// Kernels are methods and free functions on `Tensor`; each one documents the PyTorch op it matches.
/// Shape errors are preconditions whose message names every shape involved; the throwing checks
/// (`Shape.broadcast`, `Shape.resolveReshape`, `Tensor.matmulShape`, `Conv2dGeometry`) can be called first
/// by code that wants an error (a `ToolkitError`) instead. The preconditions hold in release builds too;
/// code that hands user data to the kernels (file readers, model loading, CLI arguments) checks it first and
/// throws, so a user sees an error rather than a trap.
public struct Tensor: Equatable, Sendable {
    /// Sizes of each dimension, outermost first.
    public private(set) var shape: [Int]
    /// The elements in row-major order; `data.count == shape.product`.
    public var data: [Float]

    /// A tensor with the given shape and elements.
    public init(shape: [Int], data: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        precondition(shape.product == data.count,
                     "Tensor: shape \(shape) needs \(shape.product) elements, got \(data.count)")
        Memory.keepLargeAllocations
        self.shape = shape
        self.data = data
    }

    /// A tensor filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.init(shape: shape, data: [Float](repeating: value, count: shape.product))
    }

    /// A scalar (rank 0) tensor.
    public init(scalar: Float) { self.init(shape: [], data: [scalar]) }

    /// A tensor whose elements are not initialised: for outputs a kernel overwrites completely
    /// (skips the zero fill of large buffers).
    public init(uninitializedShape shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        Memory.keepLargeAllocations
        self.shape = shape
        self.data = [Float](unsafeUninitializedCapacity: shape.product) { _, n in n = shape.product }
    }

    /// Gives the tensor a new shape, reusing its storage when the element count is unchanged and
    /// leaving the elements unspecified otherwise (for kernels that overwrite their output).
    public mutating func reset(shape newShape: [Int]) {
        if newShape.product != data.count { self = Tensor(uninitializedShape: newShape) } else { shape = newShape }
    }

    /// All zeros.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 0) }
    /// All ones.
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 1) }

    /// Number of elements.
    @inlinable public var count: Int { data.count }
    /// Number of dimensions.
    @inlinable public var rank: Int { shape.count }

    /// Row-major strides in elements.
    public var strides: [Int] { Shape.strides(shape) }

    /// The single element of a one-element tensor.
    public var scalar: Float {
        precondition(count == 1, "scalar: tensor of shape \(shape) has \(count) elements, not 1")
        return data[0]
    }

    /// Normalises a possibly negative axis (PyTorch style: -1 is the last axis).
    public func axis(_ a: Int) -> Int {
        let r = a < 0 ? a + rank : a
        precondition(r >= 0 && r < Swift.max(rank, 1), "axis \(a) out of range for shape \(shape)")
        return r
    }

    /// The same elements with another shape (`torch.reshape`); one dimension may be -1.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var t = self
        t.shape = checked { try Shape.resolveReshape(newShape, count: count, from: shape) }
        return t
    }

    /// Element at a multi-index.
    public subscript(_ index: Int...) -> Float {
        get { data[flatIndex(index)] }
        set { data[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == rank, "index \(index) has rank \(index.count), tensor has shape \(shape)")
        var flat = 0
        for (i, s) in zip(index, shape) {
            precondition(i >= 0 && i < s, "index \(index) out of bounds for shape \(shape)")
            flat = flat * s + i
        }
        return flat
    }

    /// Largest absolute value (0 for an empty tensor).
    public var maxAbs: Float { data.reduce(0) { Swift.max($0, abs($1)) } }
}

/// Shape arithmetic shared by the kernels.
public enum Shape {
    /// Row-major strides of a shape.
    public static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) { s[i] = acc; acc *= shape[i] }
        return s
    }

    /// NumPy/PyTorch broadcasting of two shapes; throws naming both when they are incompatible.
    public static func broadcast(_ a: [Int], _ b: [Int]) throws -> [Int] {
        let r = Swift.max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let da = i < r - a.count ? 1 : a[i - (r - a.count)]
            let db = i < r - b.count ? 1 : b[i - (r - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else {
                throw ToolkitError(.mismatch, "shapes \(a) and \(b) cannot be broadcast together (dimension \(i - r): \(da) vs \(db))")
            }
        }
        return out
    }

    /// Resolves a reshape target with at most one -1.
    public static func resolveReshape(_ target: [Int], count: Int, from shape: [Int]) throws -> [Int] {
        var out = target
        let unknown = target.indices.filter { target[$0] == -1 }
        if unknown.count > 1 { throw ToolkitError(.invalidArgument, "reshape \(shape) -> \(target): more than one -1") }
        if target.contains(where: { $0 < -1 }) { throw ToolkitError(.invalidArgument, "reshape \(shape) -> \(target): negative size") }
        let known = target.filter { $0 != -1 }.product
        if let u = unknown.first {
            guard known > 0, count % known == 0 else {
                throw ToolkitError(.mismatch, "reshape \(shape) (\(count) elements) -> \(target): cannot infer -1")
            }
            out[u] = count / known
        } else if known != count {
            throw ToolkitError(.mismatch, "reshape \(shape) (\(count) elements) -> \(target) (\(known) elements)")
        }
        return out
    }
}

extension Array where Element == Int {
    /// Product of the elements (1 for an empty array).
    @inlinable public var product: Int { reduce(1, *) }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = data.prefix(8).map { String(format: "%.5g", $0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(count > 8 ? ", ..." : "")])"
    }
}

import Foundation
