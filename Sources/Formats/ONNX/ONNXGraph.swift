import Foundation

/// One node of an ONNX graph: what weight recovery needs (names, inputs, outputs, integer and string
/// attributes, and the exporter's `metadata_props`).
public struct ONNXNode: Sendable {
    public let name: String
    public let opType: String
    public let inputs: [String]
    public let outputs: [String]
    /// Integer attributes (`transB`, ...).
    public var ints: [String: Int]
    /// String attributes (`equation` of Einsum, ...).
    public var strings: [String: String]
    /// `NodeProto.metadata_props`: torch's dynamo exporter records `pkg.torch.onnx.name_scopes` here.
    public var metadata: [String: String]

    public init(name: String, opType: String, inputs: [String], outputs: [String], ints: [String: Int] = [:],
                strings: [String: String] = [:], metadata: [String: String] = [:]) {
        (self.name, self.opType, self.inputs, self.outputs) = (name, opType, inputs, outputs)
        (self.ints, self.strings, self.metadata) = (ints, strings, metadata)
    }

    /// The PyTorch module that produced this node, as a dotted path, or nil when the export does not say.
    ///
    /// The dynamo exporter lists the module scopes in `pkg.torch.onnx.name_scopes` (full paths, the op
    /// last: `['', 'blocks.0', 'blocks.0.attn', 'blocks.0.attn.qkv', 'linear']`). The TorchScript exporter
    /// names nodes by scope (`/blocks.0/attn/qkv/MatMul`), a child of a called `Sequential` qualified by
    /// its parent (`/neck/neck.1/Mul`).
    public var modulePath: String? {
        if let scopes = metadata["pkg.torch.onnx.name_scopes"] {
            let items = scopes.split(separator: "'", omittingEmptySubsequences: false).enumerated()
                .filter { $0.offset % 2 == 1 }.map { String($0.element) }
            guard items.count >= 2, let module = items.dropLast().last, !module.isEmpty else { return nil }
            return module
        }
        let parts = name.split(separator: "/").map(String.init)
        guard parts.count >= 2 else { return nil }
        var path: [String] = []
        for p in parts.dropLast() {
            if let last = path.last, p.hasPrefix(last + ".") { path[path.count - 1] = p } else { path.append(p) }
        }
        return path.joined(separator: ".")
    }
}

/// An ONNX graph as the weight readers see it: its weights (initializers and floating-point `Constant`
/// values, in file order), nodes, and the names of its inputs and outputs.
public struct ONNXGraph: Sendable {
    public let weights: [(name: String, tensor: StoredTensor)]
    public let nodes: [ONNXNode]
    public let inputs: [String]
    public let outputs: [String]
    private let consumerIndex: [String: [(node: Int, input: Int)]]
    private let producerIndex: [String: Int]

    public init(weights: [(name: String, tensor: StoredTensor)], nodes: [ONNXNode], inputs: [String], outputs: [String]) {
        (self.weights, self.nodes, self.inputs, self.outputs) = (weights, nodes, inputs, outputs)
        var consumers: [String: [(node: Int, input: Int)]] = [:], producers: [String: Int] = [:]
        for (k, n) in nodes.enumerated() {
            for (i, input) in n.inputs.enumerated() where !input.isEmpty { consumers[input, default: []].append((k, i)) }
            for output in n.outputs where !output.isEmpty { producers[output] = k }
        }
        (consumerIndex, producerIndex) = (consumers, producers)
    }

    /// The nodes reading `value`, with the input position.
    public func consumers(of value: String) -> [(node: Int, input: Int)] { consumerIndex[value] ?? [] }

    /// The node writing `value` (nil for weights and graph inputs).
    public func producer(of value: String) -> Int? { producerIndex[value] }

    /// The nearest node upstream of `start` (breadth first over the nodes that compute its inputs, at
    /// most `limit` nodes visited, `start` itself excluded) for which `match` holds.
    public func upstream(of start: Int, limit: Int = 64, where match: (ONNXNode) -> Bool) -> ONNXNode? {
        var queue = [start], seen: Set<Int> = [start], head = 0
        while head < queue.count, seen.count <= limit {
            let n = nodes[queue[head]]
            head += 1
            for input in n.inputs {
                guard let p = producer(of: input), seen.insert(p).inserted else { continue }
                if match(nodes[p]) { return nodes[p] }
                queue.append(p)
            }
        }
        return nil
    }
}
