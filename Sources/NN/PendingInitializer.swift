import TensorCore
// Placeholder until TensorCore's Initializer lands (branch init-rng); replaced at merge.
public enum Initializer: Equatable, Sendable {
    case zeros, ones
    case normal(mean: Float, std: Float)
    case uniform(low: Float, high: Float)
    case truncatedNormal(mean: Float, std: Float, a: Float, b: Float)
    case kaimingUniform(a: Float)
    case kaimingNormalFanOut
}
public struct SeededGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public func generator(for name: String) -> SeededGenerator { self }
}
extension Initializer {
    func make(shape: [Int], using rng: inout SeededGenerator) -> Tensor { fatalError("pending merge of init-rng") }
}
