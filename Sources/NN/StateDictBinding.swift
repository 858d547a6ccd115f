import Diagnostics
import Formats
import TensorCore

/// What binding a checkpoint to a module found (see `Module.load`).
public struct LoadReport: Equatable {
    /// Model tensors bound from the checkpoint.
    public var bound: [String] = []
    /// Model tensors the checkpoint lacks (`name [shape]`), left as they were.
    public var missing: [String] = []
    /// Model tensors whose checkpoint shape differs (`name: expected [..], found [..]`), left as they were.
    public var misshaped: [String] = []
    /// Checkpoint tensors the model has no place for.
    public var unexpected: [String] = []

    /// Whether every model tensor was bound and nothing was left over.
    public var isComplete: Bool { missing.isEmpty && misshaped.isEmpty && unexpected.isEmpty }

    /// Names of the tensors that were not bound (missing or misshaped), without their shapes.
    public var unbound: [String] {
        missing.map { String($0.prefix { $0 != " " }) } + misshaped.map { String($0.prefix { $0 != ":" }) }
    }

    /// Most names listed per kind in `summary` (a checkpoint of another architecture misses hundreds).
    public static let listed = 10

    /// Every problem, one kind per line, at most `listed` names each.
    public var summary: String {
        func list(_ items: [String], _ separator: String) -> String {
            items.prefix(Self.listed).joined(separator: separator) + (items.count > Self.listed ? "\(separator)... (\(items.count - Self.listed) more)" : "")
        }
        var lines: [String] = []
        if !missing.isEmpty { lines.append("missing \(missing.count): " + list(missing, ", ")) }
        if !misshaped.isEmpty { lines.append("wrongly shaped \(misshaped.count): " + list(misshaped, "; ")) }
        if !unexpected.isEmpty { lines.append("unexpected \(unexpected.count): " + list(unexpected, ", ")) }
        return lines.joined(separator: "\n  ")
    }
}

/// What `Module.stateDict` exports.
public enum ExportSelection {
    /// Every parameter and buffer.
    case all
    /// The parameters that require a gradient (the trained part, e.g. adapters and heads on a frozen base).
    case trainable
    /// Tensors absent from `base` or different from it bit for bit: what a package must carry on top of it.
    case delta(against: StateDict)
}

extension Module {
    /// Binds the checkpoint tensors named `prefix` + a model name to this module's parameters and buffers,
    /// and names every tensor (`Variable.name`) by its full checkpoint name.
    ///
    /// Strict (`strict: true`): every model tensor must be present with its shape and every checkpoint
    /// tensor under `prefix` must be used (except `ignoring` and the modules' `unusedCheckpointPrefixes`);
    /// otherwise one error lists every missing, unexpected and misshaped tensor and nothing is bound.
    /// Lenient: binds what fits and reports the rest; unbound tensors keep their values (initialise them
    /// with `initialize(seed:only:)`).
    @discardableResult
    public func load(_ dict: StateDict, file: String, prefix: String = "", strict: Bool = true,
                     ignoring: (String) -> Bool = { $0.hasSuffix("num_batches_tracked") }) throws -> LoadReport {
        let tensors = namedTensors(prefix: prefix)
        var report = LoadReport()
        var binds: [(NamedTensor, Tensor)] = []
        var used = Set<String>()
        for t in tensors {
            used.insert(t.name)
            guard let stored = dict[t.name] else { report.missing.append("\(t.name) \(t.value.shape)"); continue }
            guard stored.shape == t.value.shape else {
                report.misshaped.append("\(t.name): expected \(t.value.shape), found \(stored.shape)")
                continue
            }
            binds.append((t, stored.floatTensor))
            report.bound.append(t.name)
        }
        let unused = unusedPrefixes(prefix: prefix)
        let scope = prefix.isEmpty ? "" : prefix + "."
        report.unexpected = dict.names.filter {
            $0.hasPrefix(scope) && !used.contains($0) && !ignoring($0) && !unused.contains(where: $0.hasPrefix)
        }
        if strict && !report.isComplete {
            throw ToolkitError(.mismatch, subject: file, "does not match the model:\n  " + report.summary)
        }
        for (t, value) in binds {
            switch t { case .parameter(_, let v): v.assign(value); case .buffer(_, let b): b.value = value }
        }
        assignNames(prefix: prefix)
        return report
    }

    /// Every `unusedCheckpointPrefixes` of this module and its descendants, as full dotted prefixes.
    func unusedPrefixes(prefix: String) -> [String] {
        let scope = prefix.isEmpty ? "" : prefix + "."
        var out = unusedCheckpointPrefixes.map { scope + $0 }
        for e in entries {
            if case .module(let m) = e.item { out += m.unusedPrefixes(prefix: scope + e.key) }
        }
        return out
    }

    /// The module's tensors as a checkpoint (names from `prefix`), in checkpoint order.
    public func stateDict(_ selection: ExportSelection = .all, prefix: String = "", dtype: DType = .f32) -> StateDict {
        var out = StateDict()
        for t in namedTensors(prefix: prefix) {
            switch selection {
            case .all: break
            case .trainable:
                guard case .parameter(_, let v) = t, v.requiresGrad else { continue }
            case .delta(let base):
                if let b = base[t.name], b.shape == t.value.shape, b.floatTensor == t.value { continue }
            }
            out[t.name] = StoredTensor(t.value, as: dtype)
        }
        return out
    }
}
