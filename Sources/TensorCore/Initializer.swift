import Foundation

/// A parameter initialiser with PyTorch's definitions (`torch/nn/init.py`, torch 2.13): the same
/// distributions and the same fan-in / fan-out and gain rules, drawn from a `SeededGenerator`.
///
/// Codable so that a model description can say how each parameter starts; `make` draws a tensor.
/// Values follow torch's distributions, not torch's random stream (see `SeededGenerator`).
public enum Initializer: Codable, Equatable, Sendable {
    /// All zeros (`torch.nn.init.zeros_`).
    case zeros
    /// All ones (`torch.nn.init.ones_`).
    case ones
    /// Every element `value` (`torch.nn.init.constant_`).
    case constant(Float)
    /// Normal N(mean, std²) (`torch.nn.init.normal_`, same defaults).
    case normal(mean: Float = 0, std: Float = 1)
    /// Uniform U(low, high) (`torch.nn.init.uniform_(tensor, a=low, b=high)`, same defaults).
    case uniform(low: Float = 0, high: Float = 1)
    /// N(mean, std²) restricted to [a, b] (`torch.nn.init.trunc_normal_`, same defaults). `a` and `b` are
    /// absolute bounds, not multiples of std: `.truncatedNormal(std: 0.02)` is all but untruncated.
    case truncatedNormal(mean: Float = 0, std: Float = 1, a: Float = -2, b: Float = 2)
    /// N(0, std²) with std = gain / sqrt(fan) (`torch.nn.init.kaiming_normal_`). The default
    /// nonlinearity `.relu` has the gain of torch's default (`"leaky_relu"` with a = 0): sqrt(2).
    case kaimingNormal(mode: FanMode = .fanIn, nonlinearity: Nonlinearity = .relu)
    /// Uniform on ±sqrt(3) gain / sqrt(fan) with the leaky-ReLU gain of slope `a`
    /// (`torch.nn.init.kaiming_uniform_(tensor, a, mode, nonlinearity="leaky_relu")`). The default
    /// a = sqrt(5) is what `nn.Linear` and `nn.Conv2d.reset_parameters` use for their weights (bound
    /// 1/sqrt(fan_in)); torch's own default for the function is a = 0.
    case kaimingUniform(a: Float = 2.2360679774997896, mode: FanMode = .fanIn)
    /// Uniform on ±gain sqrt(6 / (fan_in + fan_out)) (`torch.nn.init.xavier_uniform_`).
    case xavierUniform(gain: Float = 1)
    /// PyTorch's default bias of `nn.Linear` / `nn.ConvNd` (`reset_parameters`): uniform on ±1/sqrt(fanIn),
    /// where fanIn is the layer's weight's (`defaultBias(weightShape:)`); 0 when fanIn is 0.
    case defaultBias(fanIn: Int)

    /// Which fan a Kaiming initialiser scales by (torch's `mode="fan_in"` / `"fan_out"`).
    public enum FanMode: String, Codable, Equatable, Sendable {
        case fanIn, fanOut
    }

    /// The nonlinearity after the layer, for the gain (`torch.nn.init.calculate_gain`).
    public enum Nonlinearity: Codable, Equatable, Sendable {
        /// Identity, linear and convolution layers: gain 1.
        case linear
        /// Gain sqrt(2).
        case relu
        /// Gain sqrt(2 / (1 + slope²)); torch's default slope when none is given is 0.01.
        case leakyRelu(negativeSlope: Float = 0.01)

        /// `torch.nn.init.calculate_gain(nonlinearity, param)`, in Double as torch computes it.
        public var gain: Double {
            switch self {
            case .linear: return 1
            case .relu: return 2.0.squareRoot()
            case .leakyRelu(let slope): return Self.leakyReluGain(slope)
            }
        }

        static func leakyReluGain(_ slope: Float) -> Double {
            let s = Double(slope)
            return (2.0 / (1 + s * s)).squareRoot()
        }
    }

    /// Fan-in and fan-out of a weight of this shape, as torch's `_calculate_fan_in_and_fan_out`:
    /// dim 1 and dim 0, each times the receptive field (the product of dims 2...). Needs rank >= 2.
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        precondition(shape.count >= 2, "Initializer.fans: fan in and fan out need a weight of at least 2 dimensions "
                     + "(torch's _calculate_fan_in_and_fan_out), got shape \(shape)")
        let receptiveField = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptiveField, shape[0] * receptiveField)
    }

    /// PyTorch's default bias for the layer whose weight has this shape (`nn.Linear` / `nn.ConvNd`
    /// `reset_parameters`): `.defaultBias(fanIn: fans(weightShape).fanIn)`.
    public static func defaultBias(weightShape: [Int]) -> Initializer {
        .defaultBias(fanIn: fans(weightShape).fanIn)
    }

    /// A tensor of this shape drawn from `rng` in row-major order (the initialisers that need fans
    /// read them from `shape`, so it must be the weight's own shape, rank >= 2). A zero-element shape
    /// gives an empty tensor, as torch's initialisers leave such tensors untouched.
    public func make(shape: [Int], using rng: inout SeededGenerator) -> Tensor {
        if shape.product == 0 { return Tensor(shape: shape, data: []) }
        switch self {
        case .zeros: return Tensor(shape: shape, repeating: 0)
        case .ones: return Tensor(shape: shape, repeating: 1)
        case .constant(let value): return Tensor(shape: shape, repeating: value)
        case let .normal(mean, std): return rng.normal(shape, mean: mean, std: std)
        case let .uniform(low, high): return rng.uniform(shape, low: low, high: high)
        case let .truncatedNormal(mean, std, a, b):
            return Self.truncatedNormal(shape, mean: Double(mean), std: Double(std), a: a, b: b, using: &rng)
        case let .kaimingNormal(mode, nonlinearity):
            let std = nonlinearity.gain / Double(Self.fan(shape, mode)).squareRoot()
            return rng.normal(shape, mean: 0, std: Float(std))
        case let .kaimingUniform(a, mode):
            let std = Nonlinearity.leakyReluGain(a) / Double(Self.fan(shape, mode)).squareRoot()
            return Self.symmetricUniform(shape, bound: 3.0.squareRoot() * std, using: &rng)
        case .xavierUniform(let gain):
            let (fanIn, fanOut) = Self.fans(shape)
            let std = Double(gain) * (2.0 / Double(fanIn + fanOut)).squareRoot()
            return Self.symmetricUniform(shape, bound: 3.0.squareRoot() * std, using: &rng)
        case .defaultBias(let fanIn):
            precondition(fanIn >= 0, "Initializer.defaultBias: negative fanIn \(fanIn)")
            return Self.symmetricUniform(shape, bound: fanIn > 0 ? 1 / Double(fanIn).squareRoot() : 0, using: &rng)
        }
    }

    private static func fan(_ shape: [Int], _ mode: FanMode) -> Int {
        let (fanIn, fanOut) = fans(shape)
        return mode == .fanIn ? fanIn : fanOut
    }

    /// torch computes bounds in Double and `uniform_` narrows them to the tensor's float32.
    private static func symmetricUniform(_ shape: [Int], bound: Double, using rng: inout SeededGenerator) -> Tensor {
        rng.uniform(shape, low: Float(-bound), high: Float(bound))
    }

    /// torch 2.13's `_no_grad_trunc_normal_`: by rejection, element by element. When the interval holds
    /// more than 30% of the normal's mass, normal draws outside [a, b] are redrawn; otherwise candidates
    /// are uniform on [a, b], accepted with probability pdf(x) / pdf(mode) (mode = mean clamped to
    /// [a, b]). Both give the truncated normal exactly; the switch only bounds the rejection rate.
    /// The bounds are compared as float32, as torch casts them to the tensor's dtype.
    private static func truncatedNormal(_ shape: [Int], mean: Double, std: Double, a: Float, b: Float,
                                        using rng: inout SeededGenerator) -> Tensor {
        precondition(std > 0 && a <= b, "Initializer.truncatedNormal: needs std > 0 and a <= b, got std \(std), a \(a), b \(b)")
        // The mass test uses the platform's erf; only a mass within rounding of 0.3 could pick another branch.
        func cdf(_ x: Double) -> Double { (1 + erf((x - mean) / std / 2.0.squareRoot())) / 2 }
        var t = Tensor(uninitializedShape: shape)
        t.data.withUnsafeMutableBufferPointer { out in
            var i = 0
            if cdf(Double(b)) - cdf(Double(a)) > 0.3 {
                func keep(_ z: Double) {
                    let x = Float(mean + std * z)
                    if x >= a && x <= b && i < out.count { out[i] = x; i += 1 }
                }
                while i < out.count {
                    let (z0, z1) = rng.nextNormalPair()
                    keep(z0); keep(z1)
                }
            } else {
                let mode = max(Double(a), min(mean, Double(b)))
                let logPeak = -0.5 * ((mode - mean) / std) * ((mode - mean) / std)
                let lo = Double(a), width = Double(b) - Double(a)
                while i < out.count {
                    let x = rng.nextUniform(lo, width)
                    let z = (Double(x) - mean) / std
                    if SeededGenerator.log(rng.nextUnitDouble()) <= -0.5 * z * z - logPeak { out[i] = x; i += 1 }
                }
            }
        }
        return t
    }
}
