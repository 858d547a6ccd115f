import Foundation
import TensorCore

/// Maps the weights of a constant-folded PyTorch export back to state-dict names.
///
/// `torch.onnx.export` with constant folding renames linear weights `onnx::MatMul_N` and stores them
/// transposed (in x out). The consuming node keeps the module path in its name
/// (`/image_encoder/blocks.0/attn/qkv/MatMul`), so the weight becomes `image_encoder.blocks.0.attn.qkv.weight`
/// and is transposed back to PyTorch's (out x in). Names that already look like state-dict names are kept;
/// any ambiguity (several consumers implying different names, a clash) keeps the ONNX name.
enum ONNXNameMapper {
    static func map(_ weights: [(name: String, tensor: StoredTensor)], nodes: [ONNXNode]) -> [(name: String, tensor: StoredTensor)] {
        var consumers: [String: [(node: ONNXNode, index: Int)]] = [:]
        for n in nodes { for (i, input) in n.inputs.enumerated() { consumers[input, default: []].append((n, i)) } }
        var taken = Set(weights.map(\.name))
        return weights.map { w in
            guard w.name.hasPrefix("onnx::") else { return w }
            var candidates: [(String, Bool)] = []
            for (node, index) in consumers[w.name] ?? [] {
                if let c = target(node, index, rank: w.tensor.shape.count) { candidates.append(c) }
            }
            guard let first = candidates.first, candidates.allSatisfy({ $0 == first }), !taken.contains(first.0) else { return w }
            taken.insert(first.0)
            return (first.0, first.1 ? transposed(w.tensor) : w.tensor)
        }
    }

    /// The state-dict name and whether to transpose, for input `index` of `node`.
    private static func target(_ node: ONNXNode, _ index: Int, rank: Int) -> (String, Bool)? {
        let parts = node.name.split(separator: "/").map(String.init)
        guard parts.count >= 2 else { return nil }
        let module = parts.dropLast().joined(separator: ".")
        switch (node.opType, index) {
        case ("MatMul", 1) where rank == 2: return (module + ".weight", true)
        case ("Gemm", 1) where rank == 2: return (module + ".weight", (node.ints["transB"] ?? 0) == 0)
        case ("Gemm", 2), ("Conv", 2), ("ConvTranspose", 2): return (module + ".bias", false)
        case ("Conv", 1), ("ConvTranspose", 1): return (module + ".weight", false)
        case ("Add", _) where rank == 1: return (module + ".bias", false)
        default: return nil
        }
    }

    /// A 2-D tensor transposed (element size preserved).
    static func transposed(_ t: StoredTensor) -> StoredTensor {
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
