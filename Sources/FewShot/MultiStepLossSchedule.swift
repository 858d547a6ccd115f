import Diagnostics

/// MAML++'s multi-step loss: the outer loss is taken after every inner step, step i weighted by w_i, the
/// weights annealed towards the last step over the first E epochs (the authors' `get_per_step_loss_importance_vector`).
///
/// For N inner steps, E annealing epochs and epoch e (0-based, integer), while e < E:
///   w_i     = max(1/N - e/(N E), 0.03/N)                 for i < N - 1
///   w_{N-1} = min(1/N + e (N - 1)/(N E), 1 - (N - 1) 0.03/N)
/// computed in Double as the authors do in numpy (decay rate 1/N/E), then rounded to Float. From epoch E
/// on, only the last step's loss counts (weights 0, ..., 0, 1), as in their training loop; evaluation always
/// uses the last step.
public struct MultiStepLossSchedule: Sendable, Equatable {
    /// Inner steps N.
    public let steps: Int
    /// Epochs E over which the weights anneal (0: the last step only from the start).
    public let annealingEpochs: Int

    public init(steps: Int, annealingEpochs: Int) throws {
        guard steps >= 1 else { throw ToolkitError(.invalidArgument, subject: "multi-step loss", "needs at least 1 inner step, got \(steps)") }
        guard annealingEpochs >= 0 else {
            throw ToolkitError(.invalidArgument, subject: "multi-step loss", "annealing epochs must be >= 0, got \(annealingEpochs)")
        }
        (self.steps, self.annealingEpochs) = (steps, annealingEpochs)
    }

    /// Whether epoch `e` weights every step (true) or only the last one.
    public func isMultiStep(epoch e: Int) -> Bool { e < annealingEpochs && steps > 1 }

    /// The N weights of epoch `e` (>= 0).
    public func weights(epoch e: Int) -> [Float] {
        precondition(e >= 0, "multi-step loss: negative epoch \(e)")
        let n = steps
        guard isMultiStep(epoch: e) else { return (0..<n).map { $0 == n - 1 ? 1 : 0 } }
        let nd = Double(n), decay = 1.0 / nd / Double(annealingEpochs), floor = 0.03 / nd
        var w = [Double](repeating: 1.0 / nd, count: n)
        for i in 0..<(n - 1) { w[i] = Swift.max(w[i] - Double(e) * decay, floor) }
        w[n - 1] = Swift.min(w[n - 1] + Double(e) * Double(n - 1) * decay, 1.0 - Double(n - 1) * floor)
        return w.map { Float($0) }
    }
}
