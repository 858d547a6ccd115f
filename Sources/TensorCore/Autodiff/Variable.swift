/// A node of the reverse-mode autodiff graph: a value, and how to send gradients to its inputs.
///
/// Leaves made with `requiresGrad: true` are trainable parameters; their `grad` accumulates across
/// `backward()` calls until `zeroGrad()`. A frozen leaf (`requiresGrad: false`) gets no gradient, but
/// gradients still flow through ops that use it to any other input that needs one. When no input of an op
/// needs a gradient (or inside `Variable.noGrad`), the op records nothing: inference keeps no graph.
public final class Variable {
    /// The forward value.
    public internal(set) var value: Tensor
    /// Accumulated gradient of a leaf that requires one (nil until the first backward).
    public var grad: Tensor?
    /// Whether gradients are computed for this node. For a leaf it can be switched (freezing and
    /// unfreezing parameters); ops read it when they are recorded, so a switch affects later forwards.
    public private(set) var requiresGrad: Bool
    /// A name for messages and optimiser state (parameters carry their checkpoint name).
    public var name: String

    let inputs: [Variable]
    /// Maps the gradient of this node to one gradient per input (nil where an input needs none).
    let backwardFn: ((Tensor) -> [Tensor?])?

    /// A leaf: a parameter (`requiresGrad: true`) or a constant input.
    public init(_ value: Tensor, requiresGrad: Bool = false, name: String = "") {
        self.value = value
        self.requiresGrad = requiresGrad
        self.name = name
        self.inputs = []
        self.backwardFn = nil
    }

    /// An op result. Records its inputs only when one of them needs a gradient and recording is on.
    init(_ value: Tensor, inputs: [Variable], backward: @escaping (Tensor) -> [Tensor?]) {
        self.value = value
        self.name = ""
        let record = Variable.isRecording && inputs.contains { $0.requiresGrad }
        self.requiresGrad = record
        self.inputs = record ? inputs : []
        self.backwardFn = record ? backward : nil
    }

    public var shape: [Int] { value.shape }

    /// Whether ops record a graph (false inside `noGrad`).
    @TaskLocal static var isRecording = true

    /// Runs `body` without recording any graph (`torch.no_grad()`).
    public static func noGrad<T>(_ body: () throws -> T) rethrows -> T {
        try $isRecording.withValue(false, operation: body)
    }

    /// Freezes (`false`) or unfreezes (`true`) a leaf; a frozen leaf's gradient is cleared.
    public func setRequiresGrad(_ flag: Bool) {
        precondition(inputs.isEmpty && backwardFn == nil, "setRequiresGrad: \(name) is not a leaf")
        requiresGrad = flag
        if !flag { grad = nil }
    }

    /// Clears the accumulated gradient.
    public func zeroGrad() { grad = nil }

    /// Replaces a leaf's value (optimiser steps, loading weights).
    public func assign(_ newValue: Tensor) {
        precondition(inputs.isEmpty, "assign: \(name) is not a leaf")
        precondition(newValue.shape == value.shape, "assign \(name): shape \(newValue.shape) vs \(value.shape)")
        value = newValue
    }

    /// Back-propagates from this node, seeded with `seed` (ones for a scalar when omitted), and
    /// accumulates into the `grad` of every leaf that requires one.
    public func backward(_ seed: Tensor? = nil) {
        precondition(requiresGrad, "backward: this value does not depend on anything that requires a gradient")
        let start = seed ?? {
            precondition(value.count == 1, "backward without a seed needs a scalar, got shape \(value.shape)")
            return Tensor(shape: value.shape, repeating: 1)
        }()
        precondition(start.shape == value.shape, "backward: seed \(start.shape) vs value \(value.shape)")

        // Topological order by iterative depth-first search.
        var order: [Variable] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Variable, Bool)] = [(self, false)]
        while let (node, done) = stack.popLast() {
            if done { order.append(node); continue }
            if !visited.insert(ObjectIdentifier(node)).inserted { continue }
            stack.append((node, true))
            for i in node.inputs where i.requiresGrad && !visited.contains(ObjectIdentifier(i)) { stack.append((i, false)) }
        }

        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): start]
        for node in order.reversed() {
            guard let g = grads.removeValue(forKey: ObjectIdentifier(node)) else { continue }
            guard let fn = node.backwardFn else {
                if node.grad == nil { node.grad = g } else { node.grad!.addInPlace(g) }
                continue
            }
            for (input, gi) in zip(node.inputs, fn(g)) {
                guard input.requiresGrad, let gi else { continue }
                precondition(gi.shape == input.value.shape, "autodiff: gradient \(gi.shape) for input \(input.value.shape)")
                let key = ObjectIdentifier(input)
                if grads[key] == nil { grads[key] = gi } else { grads[key]!.addInPlace(gi) }
            }
        }
    }
}
