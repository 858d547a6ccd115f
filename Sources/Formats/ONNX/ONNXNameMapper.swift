import Foundation
import TensorCore

/// Maps the weights a PyTorch export renamed back to state-dict names, from the graph's structure.
///
/// Both of torch's exporters keep a module's parameters under their state-dict names, except the ones
/// they transform: linear weights are stored transposed (in x out) as `onnx::MatMul_N` (TorchScript
/// exporter) or `val_N` (dynamo exporter), and a `LayerNorm2d`'s weight and bias become (C, 1, 1)
/// tensors (`onnx::Mul_N`, `unsqueeze_N`). Such an anonymous weight is named from its consumer:
///
/// - input 1 of a MatMul whose output is added to a named `M.bias`: `M.weight`, transposed back; with no
///   such bias, the consuming node's module (`ONNXNode.modulePath`) + `.weight`;
/// - input 1 of Gemm (transposed back unless `transB`), Conv, ConvTranspose: `M.weight`; input 2: `M.bias`;
/// - a 1-D input of Add: `M.bias`;
/// - a (C, 1, 1) input of Mul / Add in module M: `M.weight` / `M.bias`, reshaped to (C).
///
/// When consumers disagree, no module is known, or the name is taken, the ONNX name is kept.
public enum ONNXNameMapper {
    /// How a recovered tensor differs from the stored one.
    enum Transform: Equatable { case none, transpose, reshape([Int]) }

    /// Whether `name` is one an exporter made up (`onnx::MatMul_7`, `/pe_layer/Constant_output_0`, `val_17`,
    /// `unsqueeze_3`) rather than a state-dict name (which has a dot: `blocks.0.norm1.weight`).
    public static func isAnonymous(_ name: String) -> Bool { name.hasPrefix("onnx::") || name.hasPrefix("/") || !name.contains(".") }

    /// The weights of `graph`, anonymous ones renamed (and transposed or reshaped) where the graph says how.
    public static func map(_ graph: ONNXGraph) -> [(name: String, tensor: StoredTensor)] {
        let named = Set(graph.weights.map(\.name).filter { !isAnonymous($0) })
        var taken = Set(graph.weights.map(\.name))
        return graph.weights.map { w in
            guard isAnonymous(w.name) else { return w }
            let candidates = graph.consumers(of: w.name).compactMap { target(graph, $0, rank: w.tensor.shape, named: named) }
            guard let first = candidates.first, candidates.allSatisfy({ $0 == first }), !taken.contains(first.name) else { return w }
            taken.insert(first.name)
            return (first.name, apply(first.transform, w.tensor))
        }
    }

    /// The state-dict name and transform for input `use.input` of node `use.node`.
    private static func target(_ graph: ONNXGraph, _ use: (node: Int, input: Int), rank shape: [Int],
                               named: Set<String>) -> (name: String, transform: Transform)? {
        let node = graph.nodes[use.node], rank = shape.count
        switch (node.opType, use.input) {
        case ("MatMul", 1) where rank == 2:
            if let bias = addedBias(graph, node, named: named) { return (String(bias.dropLast(4)) + "weight", .transpose) }
            return node.modulePath.map { ($0 + ".weight", .transpose) }
        case ("Gemm", 1) where rank == 2:
            let transform: Transform = (node.ints["transB"] ?? 0) == 0 ? .transpose : .none
            if node.inputs.count > 2, named.contains(node.inputs[2]), node.inputs[2].hasSuffix(".bias") {
                return (String(node.inputs[2].dropLast(4)) + "weight", transform)
            }
            return node.modulePath.map { ($0 + ".weight", transform) }
        case ("Conv", 1), ("ConvTranspose", 1):
            return node.modulePath.map { ($0 + ".weight", .none) }
        case ("Gemm", 2), ("Conv", 2), ("ConvTranspose", 2):
            return node.modulePath.map { ($0 + ".bias", .none) }
        case ("Add", _) where rank == 1:
            return node.modulePath.map { ($0 + ".bias", .none) }
        case ("Mul", _) where isChannelAffine(shape):
            return node.modulePath.map { ($0 + ".weight", .reshape([shape[0]])) }
        case ("Add", _) where isChannelAffine(shape):
            return node.modulePath.map { ($0 + ".bias", .reshape([shape[0]])) }
        default: return nil
        }
    }

    /// A (C, 1, 1) tensor: a per-channel weight or bias broadcast over an image (`LayerNorm2d`).
    public static func isChannelAffine(_ shape: [Int]) -> Bool { shape.count == 3 && shape[1] == 1 && shape[2] == 1 }

    /// The named `*.bias` that an Add adds to `node`'s output (a linear layer's bias), if one does.
    private static func addedBias(_ graph: ONNXGraph, _ node: ONNXNode, named: Set<String>) -> String? {
        guard let out = node.outputs.first else { return nil }
        for use in graph.consumers(of: out) where graph.nodes[use.node].opType == "Add" {
            if let b = graph.nodes[use.node].inputs.first(where: { named.contains($0) && $0.hasSuffix(".bias") }) { return b }
        }
        return nil
    }

    static func apply(_ transform: Transform, _ t: StoredTensor) -> StoredTensor {
        switch transform {
        case .none: return t
        case .transpose: return transposed(t)
        case .reshape(let shape): return StoredTensor(dtype: t.dtype, shape: shape, bytes: t.bytes)
        }
    }

    /// A 2-D tensor transposed (element size preserved).
    public static func transposed(_ t: StoredTensor) -> StoredTensor {
        let r = t.shape[0], c = t.shape[1], es = t.dtype.byteSize
        var out = Data(count: t.bytes.count)
        t.bytes.withUnsafeBytes { s in
            out.withUnsafeMutableBytes { d in
                for i in 0 ..< r { for j in 0 ..< c {
                    (d.baseAddress! + (j * r + i) * es).copyMemory(from: s.baseAddress! + (i * c + j) * es, byteCount: es)
                } }
            }
        }
        return StoredTensor(dtype: t.dtype, shape: [c, r], bytes: out)
    }
}
