import Foundation

/// A gradient-descent optimiser over a list of parameters.
public protocol Optimizer: AnyObject {
    /// The parameters it updates (leaves with `requiresGrad`).
    var parameters: [Variable] { get }
    /// Learning rate used by the next `step()`; schedules set it.
    var learningRate: Float { get set }
    /// Updates every parameter that has a gradient.
    func step()
}

extension Optimizer {
    /// Clears the gradients of all parameters.
    public func zeroGrad() { parameters.forEach { $0.zeroGrad() } }
}

/// `torch.optim.SGD` (momentum with dampening 0, optional Nesterov, L2 weight decay added to the gradient).
public final class SGD: Optimizer {
    public let parameters: [Variable]
    public var learningRate: Float
    public var momentum: Float, weightDecay: Float, nesterov: Bool
    private var velocity: [ObjectIdentifier: Tensor] = [:]

    public init(_ parameters: [Variable], learningRate: Float, momentum: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        self.parameters = parameters
        (self.learningRate, self.momentum, self.weightDecay, self.nesterov) = (learningRate, momentum, weightDecay, nesterov)
    }

    public func step() {
        for p in parameters {
            guard var d = p.grad else { continue }
            if weightDecay != 0 { d.addInPlace(p.value, scale: weightDecay) }
            if momentum != 0 {
                let key = ObjectIdentifier(p)
                var buf = velocity[key].map { $0 * momentum + d } ?? d
                velocity[key] = buf
                if nesterov { buf = d + buf * momentum }
                d = buf
            }
            var v = p.value
            v.addInPlace(d, scale: -learningRate)
            p.assign(v)
        }
    }
}

/// `torch.optim.AdamW`: Adam with bias correction and decoupled weight decay (p -= lr * wd * p first).
public final class AdamW: Optimizer {
    public let parameters: [Variable]
    public var learningRate: Float
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    private var state: [ObjectIdentifier: AdamWMoments] = [:]

    public init(_ parameters: [Variable], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                eps: Float = 1e-8, weightDecay: Float = 1e-2) {
        self.parameters = parameters
        (self.learningRate, self.beta1, self.beta2, self.eps, self.weightDecay) = (learningRate, beta1, beta2, eps, weightDecay)
    }

    public func step() {
        for p in parameters {
            guard let g = p.grad else { continue }
            let key = ObjectIdentifier(p)
            var s = state[key] ?? AdamWMoments(m: [Float](repeating: 0, count: g.count), v: [Float](repeating: 0, count: g.count), step: 0)
            s.step += 1
            // Same operation order as PyTorch's single-tensor implementation.
            let bc1 = 1 - Foundation.pow(beta1, Float(s.step))
            let bc2 = 1 - Foundation.pow(beta2, Float(s.step))
            let stepSize = learningRate / bc1
            let bc2Sqrt = bc2.squareRoot()
            var v = p.value
            for i in 0..<v.count {
                v.data[i] *= 1 - learningRate * weightDecay
                s.m[i] += (g.data[i] - s.m[i]) * (1 - beta1)
                s.v[i] = s.v[i] * beta2 + (1 - beta2) * g.data[i] * g.data[i]
                let denom = s.v[i].squareRoot() / bc2Sqrt + eps
                v.data[i] -= stepSize * s.m[i] / denom
            }
            state[key] = s
            p.assign(v)
        }
    }

    /// The moments of every parameter in `parameters` order (nil where it has not been stepped yet): with the
    /// hyperparameters, everything a resumed run needs to continue bit for bit.
    public var moments: [AdamWMoments?] {
        get { parameters.map { state[ObjectIdentifier($0)] } }
        set {
            precondition(newValue.count == parameters.count, "AdamW.moments: \(newValue.count) entries for \(parameters.count) parameters")
            for (p, s) in zip(parameters, newValue) {
                precondition(s == nil || (s!.m.count == p.value.count && s!.v.count == p.value.count), "AdamW.moments: sizes of \(p.name)")
                state[ObjectIdentifier(p)] = s
            }
        }
    }
}

/// AdamW's state for one parameter: the first and second moments and the number of steps taken.
public struct AdamWMoments: Equatable, Sendable {
    public var m: [Float], v: [Float], step: Int
    public init(m: [Float], v: [Float], step: Int) { (self.m, self.v, self.step) = (m, v, step) }
}

/// `torch.optim.lr_scheduler.CosineAnnealingLR` in closed form:
/// lr(t) = etaMin + (base - etaMin) * (1 + cos(pi * t / tMax)) / 2.
public struct CosineAnnealing: Sendable {
    public var baseLearningRate: Float, tMax: Int, etaMin: Float
    public init(baseLearningRate: Float, tMax: Int, etaMin: Float = 0) {
        precondition(tMax > 0, "CosineAnnealing: tMax must be positive, got \(tMax)")
        (self.baseLearningRate, self.tMax, self.etaMin) = (baseLearningRate, tMax, etaMin)
    }
    /// The learning rate at epoch `t`.
    public func learningRate(at t: Int) -> Float {
        etaMin + (baseLearningRate - etaMin) * (1 + Foundation.cos(Float.pi * Float(t) / Float(tMax))) / 2
    }
}
