import Formats

/// Deltas on a base model: the tensors that differ from the base (or that it lacks), and the way back.
public enum DeltaWeights {
    /// The tensors of `model` that are not byte-identical to the same-named tensor of `base` (dtype,
    /// shape and bytes), with how many of them replace a base tensor and how many are new.
    public static func delta(of model: StateDict, on base: StateDict) -> (delta: StateDict, replaces: Int, adds: Int) {
        var d = StateDict(), replaces = 0, adds = 0
        for (name, t) in model.entries {
            if let b = base[name] {
                if b != t { d[name] = t; replaces += 1 }
            } else {
                d[name] = t; adds += 1
            }
        }
        return (d, replaces, adds)
    }

    /// `base` with every tensor of `delta` put in: same names replaced, new names appended.
    public static func apply(_ delta: StateDict, to base: StateDict) -> StateDict {
        var full = base
        for (name, t) in delta.entries { full[name] = t }
        return full
    }
}
