import Diagnostics
import Formats
import NN
import TensorCore

/// MAML++'s learned per-layer per-step inner learning rates (LSLR; Antoniou et al., "How to train your MAML",
/// `LSLRGradientDescentLearningRule` in their code): one rate per trainable parameter tensor per inner step,
/// initialised to alpha and learned by the outer optimiser.
///
/// Each tensor's rates are one `Variable` of shape [S] (S inner steps), so the outer optimiser updates them
/// like any parameter. The authors do not clamp them; we keep them >= 0 (`clampNonNegative()` after every
/// outer update), since a negative rate would turn the inner step into gradient ascent.
///
/// Saved with the model as tensors `lslr.<parameter name>` of shape [S] (see `MetaModelFile`).
public final class LearnedStepRates {
    /// The prefix of the rates' tensor names in a model file.
    public static let prefix = "lslr."
    /// Inner steps S.
    public let steps: Int
    /// The trainable parameters' names, in the model's order.
    public let names: [String]
    /// The rates of each parameter tensor, shape [S], in `names` order.
    public let rates: [Variable]
    private let index: [String: Int]

    /// Rates `alpha` for every step of every name.
    public convenience init(parameterNames: [String], steps: Int, alpha: Float = 1e-3) throws {
        guard alpha >= 0, alpha.isFinite else {
            throw ToolkitError(.invalidArgument, subject: "LSLR", "the initial inner learning rate must be finite and >= 0, got \(alpha)")
        }
        try self.init(parameterNames: parameterNames, values: parameterNames.map { _ in [Float](repeating: alpha, count: steps) })
    }

    /// Rates initialised to `alpha` for the trainable parameters of `model`.
    public convenience init(model: some Module, steps: Int, alpha: Float = 1e-3) throws {
        try self.init(parameterNames: model.trainableParameters().map(\.name), steps: steps, alpha: alpha)
    }

    /// Given rates: `values[i]` are the S rates of `parameterNames[i]`.
    public init(parameterNames: [String], values: [[Float]]) throws {
        guard !parameterNames.isEmpty else {
            throw ToolkitError(.invalidArgument, subject: "LSLR", "no trainable parameters to give learning rates to")
        }
        guard Set(parameterNames).count == parameterNames.count else {
            throw ToolkitError(.invalidArgument, subject: "LSLR", "parameter names are not unique")
        }
        guard values.count == parameterNames.count, let s = values.first?.count, s >= 1 else {
            throw ToolkitError(.invalidArgument, subject: "LSLR", "need one non-empty list of rates per parameter (\(parameterNames.count)), got \(values.count)")
        }
        for (n, v) in zip(parameterNames, values) {
            guard v.count == s else {
                throw ToolkitError(.mismatch, subject: "LSLR", "\(n) has \(v.count) step rates, expected \(s)")
            }
            guard v.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw ToolkitError(.invalidArgument, subject: "LSLR", "\(n) has a negative or non-finite rate: \(v)")
            }
        }
        steps = s
        names = parameterNames
        rates = zip(parameterNames, values).map { Variable(Tensor(shape: [s], data: $1), requiresGrad: true, name: Self.prefix + $0) }
        index = Dictionary(uniqueKeysWithValues: parameterNames.enumerated().map { ($1, $0) })
    }

    /// The rate of parameter tensor `i` (in `names` order) at inner step `step`.
    public func rate(_ i: Int, step: Int) -> Float { rates[i].value.data[step] }

    /// The rate of the parameter named `name` at inner step `step` (nil for an unknown name).
    public func rate(_ name: String, step: Int) -> Float? { index[name].map { rate($0, step: step) } }

    /// Sets every negative rate to 0 (after an outer update).
    public func clampNonNegative() {
        for r in rates where r.value.data.contains(where: { $0 < 0 }) { r.assign(r.value.map { Swift.max($0, 0) }) }
    }

    /// The rates as a state dict: `lslr.<name>` of shape [S], in `names` order.
    public func stateDict() -> StateDict {
        var d = StateDict()
        for r in rates { d[r.name] = StoredTensor(r.value) }
        return d
    }

    /// Rates read from the `lslr.*` tensors of `dict` for exactly `parameterNames` (a model's trainable
    /// parameters); a missing, extra or misshaped tensor is an error naming it.
    public convenience init(stateDict dict: StateDict, parameterNames: [String], file: String) throws {
        let stored = dict.names.filter { $0.hasPrefix(Self.prefix) }
        let expected = Set(parameterNames.map { Self.prefix + $0 })
        if let extra = stored.first(where: { !expected.contains($0) }) {
            throw ToolkitError(.mismatch, subject: file, "learning rate \(extra) is for no trainable parameter of the model")
        }
        var values: [[Float]] = []
        for n in parameterNames {
            guard let t = dict[Self.prefix + n] else {
                throw ToolkitError(.mismatch, subject: file, "no learning rates \(Self.prefix + n) for trainable parameter \(n)")
            }
            guard t.shape.count == 1 else {
                throw ToolkitError(.mismatch, subject: file, "\(Self.prefix + n) has shape \(t.shape), expected [steps]")
            }
            values.append(t.floatTensor.data)
        }
        do { try self.init(parameterNames: parameterNames, values: values) } catch let e as ToolkitError {
            throw ToolkitError(e.kind, subject: file, e.message)
        }
    }

    /// The rates' values by tensor name (`lslr.<name>`), for snapshots.
    public var values: [String: Tensor] { Dictionary(uniqueKeysWithValues: rates.map { ($0.name, $0.value) }) }
}
