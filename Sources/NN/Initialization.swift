import Diagnostics
import TensorCore

extension Module {
    /// Initialises parameters from seeded initialisers, like `reset_parameters()` in PyTorch: each one
    /// from its own stream derived from (`seed`, its dotted name), so the result does not depend on the
    /// order or on which other parameters are initialised. `only` restricts it to those names (e.g. the
    /// `LoadReport.unbound` of a lenient load). Buffers are initialised where their module gives an initialiser and
    /// kept otherwise. Throws naming any parameter whose layer gives no initialiser.
    public func initialize(seed: UInt64, only names: Set<String>? = nil, prefix: String = "") throws {
        var plan: [(String, NamedTensor, Initializer)] = []
        var lacking: [String] = []
        collectInitializers(prefix: prefix) { tensor, initializer in
            guard names?.contains(tensor.name) ?? true else { return }
            if let i = initializer { plan.append((tensor.name, tensor, i)) }
            else if case .parameter = tensor { lacking.append(tensor.name) }  // buffers without one keep their value
        }
        guard lacking.isEmpty else {
            throw ToolkitError(.unsupported, subject: "initialize", "no initialiser for: " + lacking.joined(separator: ", "))
        }
        for (name, t, i) in plan {
            var rng = SeededGenerator(seed: seed).generator(for: name)
            let value = i.make(shape: t.value.shape, using: &rng)
            switch t { case .parameter(_, let v): v.assign(value); case .buffer(_, let b): b.value = value }
        }
    }

    func collectInitializers(prefix: String, _ visit: (NamedTensor, Initializer?) -> Void) {
        for e in entries {
            let name = prefix.isEmpty ? e.key : "\(prefix).\(e.key)"
            switch e.item {
            case .parameter(let v): visit(.parameter(name, v), initializer(forKey: e.key, shape: v.shape))
            case .buffer(let b): visit(.buffer(name, b), initializer(forKey: e.key, shape: b.value.shape))
            case .module(let m): m.collectInitializers(prefix: name, visit)
            }
        }
    }
}
