import Diagnostics
import NN
import SSMSAM
import TensorCore

/// How the model of one epoch did on the held-out validation episodes of the training organs (never the
/// test organ): each episode adapted on its support by the online optimiser with the current rates, then its
/// queries predicted; Dice of the predicted masks (logit > 0) against the labels at the loss's resolution,
/// over all of an episode's queries, averaged per organ and then over the organs.
public struct ValidationResult: Codable, Equatable, Sendable {
    /// Mean over organs of the mean episode Dice.
    public let dice: Float
    /// Mean query loss (the training loss) over all validation queries.
    public let loss: Float
    /// Per organ: mean episode Dice.
    public let organs: [String: Float]
    /// Validation episodes scored.
    public let episodes: Int

    public init(dice: Float, loss: Float, organs: [String: Float], episodes: Int) {
        (self.dice, self.loss, self.organs, self.episodes) = (dice, loss, organs, episodes)
    }
}

extension MetaLearner {
    /// Scores θ and the current rates on `episodes` (the model is left at θ). Deterministic for the same state.
    public func validate(_ episodes: [TrainingEpisode]) throws -> ValidationResult {
        guard !episodes.isEmpty else { throw ToolkitError(.invalidArgument, subject: "validation", "no validation episodes") }
        var dicePerOrgan: [String: [Double]] = [:]
        var lossSum = 0.0, queries = 0
        for ep in episodes {
            try PairGradients.require(ep.support, "validation support of \(ep.organ)")
            let (dice, loss) = try onlineOptimiser.withAdapted(model, on: ep.support) {
                Variable.noGrad { () -> (Double, Double) in
                    var intersection = 0.0, predicted = 0.0, truth = 0.0, loss = 0.0
                    for q in ep.queries {
                        let logits = q.logits(model)
                        loss += Double(SegmentationLoss.total(logits, q.label, plain: config.plainBCE).value.data[0])
                        for (l, t) in zip(logits.value.data, q.label.data) {
                            let p = l > 0 ? 1.0 : 0.0, y = t > 0.5 ? 1.0 : 0.0
                            (intersection, predicted, truth) = (intersection + p * y, predicted + p, truth + y)
                        }
                    }
                    // Both empty: a perfect empty prediction.
                    return (predicted + truth == 0 ? 1 : 2 * intersection / (predicted + truth), loss)
                }
            }
            dicePerOrgan[ep.organ, default: []].append(dice)
            lossSum += loss
            queries += ep.queries.count
        }
        let organs = dicePerOrgan.mapValues { Float($0.reduce(0, +) / Double($0.count)) }
        let mean = organs.values.reduce(0) { $0 + Double($1) } / Double(organs.count)
        return ValidationResult(dice: Float(mean), loss: Float(lossSum / Double(max(queries, 1))), organs: organs, episodes: episodes.count)
    }
}
