import TensorCore

/// SSM-SAM's segmentation losses on logits against soft or binary labels of the same shape (B, 1, H, W).
public enum SegmentationLoss {
    /// Balanced BCE (the paper's Eq. 2): BCE with positive weight Nn/P, scaled by P/(P+Nn), with
    /// P = Σy + 1e-10 and Nn = Σ(1-y) over the batch; the logs as log-sigmoid for stability.
    public static func balancedBCE(_ logits: Variable, _ labels: Tensor) -> Variable {
        precondition(logits.shape == labels.shape, "loss: logits \(logits.shape) vs labels \(labels.shape)")
        let p = labels.data.reduce(0, +) + 1e-10
        let nn = Float(labels.count) - labels.data.reduce(0, +)
        let y = Variable(labels), notY = Variable(labels.map { 1 - $0 })
        let perPixel = y * logits.logSigmoid() * (-nn / p) - notY * (-logits).logSigmoid()
        return perPixel.mean() * (p / (p + nn))
    }

    /// Plain BCE with logits (`F.binary_cross_entropy_with_logits`, mean).
    public static func bce(_ logits: Variable, _ labels: Tensor) -> Variable {
        precondition(logits.shape == labels.shape, "loss: logits \(logits.shape) vs labels \(labels.shape)")
        let y = Variable(labels), notY = Variable(labels.map { 1 - $0 })
        return -(y * logits.logSigmoid() + notY * (-logits).logSigmoid()).mean()
    }

    /// Soft IoU loss: per image 1 - Σ(p y) / (Σp + Σy - Σ(p y) + 1e-6), p = sigmoid(logits), mean over the batch.
    public static func iou(_ logits: Variable, _ labels: Tensor) -> Variable {
        precondition(logits.shape == labels.shape && logits.shape.count == 4, "loss: logits \(logits.shape) vs labels \(labels.shape)")
        let p = logits.sigmoid(), y = Variable(labels)
        let inter = (p * y).sum(axes: [1, 2, 3]), total = p.sum(axes: [1, 2, 3]) + y.sum(axes: [1, 2, 3])
        return (-(inter / (total - inter + 1e-6)) + 1).mean()
    }

    /// The default objective: balanced BCE + IoU (`plain`: plain BCE + IoU, the published configs).
    public static func total(_ logits: Variable, _ labels: Tensor, plain: Bool = false) -> Variable {
        (plain ? bce(logits, labels) : balancedBCE(logits, labels)) + iou(logits, labels)
    }
}
