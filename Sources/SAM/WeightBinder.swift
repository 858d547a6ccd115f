import Formats
import TensorCore

/// Binds a model's parameters to a checkpoint by name, collecting every problem before failing.
///
/// Modules ask for each parameter by its checkpoint name and expected shape while they are built; a
/// missing or misshaped tensor is recorded (and a zero placeholder returned) so that `finish()` can
/// report all missing, unexpected and wrongly shaped tensors in one error.
public final class WeightBinder {
    private let source: StateDict
    private let file: String
    private var used = Set<String>()
    private var missing: [String] = []
    private var misshaped: [String] = []
    /// Names the model does not use but which are known to be harmless (e.g. BatchNorm counters).
    private let ignorable: (String) -> Bool
    /// Whether bound parameters require gradients (false: the frozen inference model).
    public var trainable: Bool

    /// Names a checkpoint carries in a sub-tree this model never reads (e.g. binding only the decoder).
    public var ignoredPrefixes: [String] = []

    public init(_ source: StateDict, file: String, trainable: Bool = false,
                ignorable: @escaping (String) -> Bool = { $0.hasSuffix("num_batches_tracked") }) {
        self.source = source
        self.file = file
        self.trainable = trainable
        self.ignorable = ignorable
    }

    /// The parameter `name`, which must have `shape`.
    public func take(_ name: String, shape: [Int]) -> Variable {
        used.insert(name)
        guard let stored = source[name] else {
            missing.append("\(name) \(shape)")
            return Variable(Tensor.zeros(shape), requiresGrad: trainable, name: name)
        }
        guard stored.shape == shape else {
            misshaped.append("\(name): expected \(shape), found \(stored.shape)")
            return Variable(Tensor.zeros(shape), requiresGrad: trainable, name: name)
        }
        return Variable(stored.floatTensor, requiresGrad: trainable, name: name)
    }

    /// The parameter `name` whatever its shape (for tensors whose shape defines the configuration).
    public func peekShape(_ name: String) -> [Int]? { source[name]?.shape }

    /// Throws one error listing every missing, unexpected and misshaped tensor under `prefix`.
    public func finish(prefix: String = "") throws {
        let unexpected = source.names.filter {
            $0.hasPrefix(prefix) && !used.contains($0) && !ignorable($0) && !ignoredPrefixes.contains(where: $0.hasPrefix)
        }
        guard missing.isEmpty && misshaped.isEmpty && unexpected.isEmpty else {
            var lines: [String] = []
            if !missing.isEmpty { lines.append("missing \(missing.count): " + missing.joined(separator: ", ")) }
            if !misshaped.isEmpty { lines.append("wrongly shaped \(misshaped.count): " + misshaped.joined(separator: "; ")) }
            if !unexpected.isEmpty { lines.append("unexpected \(unexpected.count): " + unexpected.joined(separator: ", ")) }
            throw FormatError(file: file, "does not match the model:\n  " + lines.joined(separator: "\n  "))
        }
    }
}
