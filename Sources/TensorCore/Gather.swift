/// Row gathering (`table[indices]` in PyTorch), the lookup behind relative-position tables.
extension Tensor {
    /// Rows of a (L, C) table at `indices`: result (indices.count, C).
    public func gatherRows(_ indices: [Int]) -> Tensor {
        precondition(rank == 2, "gatherRows expects a table L x C, got \(shape)")
        let c = shape[1]
        var out = Tensor(uninitializedShape: [indices.count, c])
        for (r, i) in indices.enumerated() {
            precondition(i >= 0 && i < shape[0], "gatherRows: index \(i) out of range for table \(shape)")
            for j in 0..<c { out.data[r * c + j] = data[i * c + j] }
        }
        return out
    }

    /// Gradient of `gatherRows`: rows of `grad` added back at their indices of a (length, C) table.
    public static func scatterAddRows(_ grad: Tensor, indices: [Int], length: Int) -> Tensor {
        let c = grad.shape[1]
        var out = Tensor.zeros([length, c])
        for (r, i) in indices.enumerated() { for j in 0..<c { out.data[i * c + j] += grad.data[r * c + j] } }
        return out
    }
}

extension Variable {
    /// Differentiable `table[indices]` for a (L, C) table.
    public func gatherRows(_ indices: [Int]) -> Variable {
        let length = shape[0]
        return Variable(value.gatherRows(indices), inputs: [self]) { g in
            [Tensor.scatterAddRows(g, indices: indices, length: length)]
        }
    }
}
