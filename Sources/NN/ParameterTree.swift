import Diagnostics
import TensorCore

/// A tensor of the tree with its dotted name from the module it was enumerated from.
public enum NamedTensor {
    case parameter(String, Variable)
    case buffer(String, Buffer)

    public var name: String {
        switch self { case .parameter(let n, _), .buffer(let n, _): return n }
    }
    public var value: Tensor {
        switch self { case .parameter(_, let v): return v.value; case .buffer(_, let b): return b.value }
    }
}

extension Module {
    /// Every parameter and buffer in checkpoint order, named from this module (`blocks.0.attn.qkv.weight`).
    public func namedTensors(prefix: String = "") -> [NamedTensor] {
        var out: [NamedTensor] = []
        for e in entries {
            let name = prefix.isEmpty ? e.key : "\(prefix).\(e.key)"
            switch e.item {
            case .parameter(let v): out.append(.parameter(name, v))
            case .buffer(let b): out.append(.buffer(name, b))
            case .module(let m): out += m.namedTensors(prefix: name)
            }
        }
        return out
    }

    /// Every parameter (not buffers) with its dotted name.
    public func namedParameters(prefix: String = "") -> [(name: String, parameter: Variable)] {
        namedTensors(prefix: prefix).compactMap { if case .parameter(let n, let v) = $0 { return (n, v) } else { return nil } }
    }

    /// Every buffer with its dotted name.
    public func namedBuffers(prefix: String = "") -> [(name: String, buffer: Buffer)] {
        namedTensors(prefix: prefix).compactMap { if case .buffer(let n, let b) = $0 { return (n, b) } else { return nil } }
    }

    /// Every parameter, in checkpoint order (`Variable.name` is the name from the root the model was loaded
    /// or named from).
    public var parameters: [Variable] { namedParameters().map(\.parameter) }

    /// The parameters that currently require a gradient (`trainableParameters()` in MLX).
    public func trainableParameters(prefix: String = "") -> [(name: String, parameter: Variable)] {
        namedParameters(prefix: prefix).filter { $0.parameter.requiresGrad }
    }

    /// Gives every parameter and buffer its dotted name from this module as its `name`, for messages and
    /// optimiser state (loading does this too).
    public func assignNames(prefix: String = "") {
        for t in namedTensors(prefix: prefix) {
            switch t { case .parameter(let n, let v): v.name = n; case .buffer(let n, let b): b.name = n }
        }
    }

    /// Freezes the parameters whose names fall under any of `prefixes` (all when empty): they get no
    /// gradient, but gradients still flow through them to earlier inputs. Returns how many were frozen.
    @discardableResult
    public func freeze(_ prefixes: [String] = []) -> Int { setTrainable(false, prefixes) }

    /// Unfreezes the parameters under any of `prefixes` (all when empty). Returns how many.
    @discardableResult
    public func unfreeze(_ prefixes: [String] = []) -> Int { setTrainable(true, prefixes) }

    private func setTrainable(_ flag: Bool, _ prefixes: [String]) -> Int {
        var n = 0
        for (name, p) in namedParameters() where prefixes.isEmpty || prefixes.contains(where: { name.isUnder($0) }) {
            p.setRequiresGrad(flag)
            n += 1
        }
        return n
    }

    /// Clears the gradients of every parameter.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// The values of the parameters (all, or the trainable ones) and buffers, by name: a cheap copy
    /// (tensors are copy-on-write), for restoring later.
    public func snapshot(trainableOnly: Bool = false) -> ParameterSnapshot {
        var values: [String: Tensor] = [:]
        for t in namedTensors() {
            if trainableOnly, case .parameter(_, let v) = t, !v.requiresGrad { continue }
            if trainableOnly, case .buffer = t { continue }
            values[t.name] = t.value
        }
        return ParameterSnapshot(values: values)
    }

    /// Puts back the values of a snapshot taken from a module of the same structure. Throws, naming
    /// the tensors, when a name is unknown or a shape differs; nothing is changed then.
    public func restore(_ snapshot: ParameterSnapshot) throws {
        let tensors = Dictionary(uniqueKeysWithValues: namedTensors().map { ($0.name, $0) })
        var problems: [String] = []
        for (name, value) in snapshot.values.sorted(by: { $0.key < $1.key }) {
            guard let t = tensors[name] else { problems.append("\(name): not in the model"); continue }
            if t.value.shape != value.shape { problems.append("\(name): model \(t.value.shape), snapshot \(value.shape)") }
        }
        guard problems.isEmpty else {
            throw ToolkitError(.mismatch, subject: "snapshot", "does not fit the model: " + problems.joined(separator: "; "))
        }
        for (name, value) in snapshot.values {
            switch tensors[name]! {
            case .parameter(_, let v): v.assign(value)
            case .buffer(_, let b): b.value = value
            }
        }
    }

    /// The parameters split into named groups, in checkpoint order, e.g. for per-group learning rates.
    public func parameterGroups(_ grouping: ParameterGrouping, trainableOnly: Bool = true) -> [ParameterGroup] {
        var order: [String] = []
        var members: [String: [(String, Variable)]] = [:]
        for (name, p) in namedParameters() where !trainableOnly || p.requiresGrad {
            guard let g = grouping.group(of: name) else { continue }
            if members[g] == nil { order.append(g) }
            members[g, default: []].append((name, p))
        }
        return order.map { ParameterGroup(name: $0, parameters: members[$0]!) }
    }
}

/// Parameter values by name (see `Module.snapshot`).
public struct ParameterSnapshot: Equatable, Sendable {
    public var values: [String: Tensor]
    public init(values: [String: Tensor]) { self.values = values }
}

/// How `Module.parameterGroups` groups parameters.
public enum ParameterGrouping {
    /// One group per parameter tensor.
    case parameter
    /// One group per layer: the module that owns the parameter (`blocks.0.attn.qkv` for its weight and bias).
    case layer
    /// The first matching prefix names the group; parameters under no prefix are left out.
    case prefixes([String])
    /// A function of the dotted name; nil leaves the parameter out.
    case custom((String) -> String?)

    func group(of name: String) -> String? {
        switch self {
        case .parameter: return name
        case .layer: return name.split(separator: ".").dropLast().joined(separator: ".")
        case .prefixes(let ps): return ps.first { name.isUnder($0) }
        case .custom(let f): return f(name)
        }
    }
}

/// A named group of parameters.
public struct ParameterGroup {
    public let name: String
    public let parameters: [(name: String, parameter: Variable)]
}

extension String {
    /// Whether this dotted name is `prefix` or lies below it (`blocks.1` covers `blocks.1.x`, not `blocks.10`).
    func isUnder(_ prefix: String) -> Bool {
        prefix.isEmpty || self == prefix || hasPrefix(prefix.hasSuffix(".") ? prefix : prefix + ".")
    }
}
