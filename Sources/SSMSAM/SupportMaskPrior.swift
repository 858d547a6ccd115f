import TensorCore

/// FMAD's mask prior M from the support mask: area average to the feature grid, Gaussian blur (torchvision
/// semantics, kernel 2 ceil(3 sigma) + 1, reflect padding), then cells covered at least half by the mask reset
/// to the blurred maximum. No gradient: the support mask is data.
public enum SupportMaskPrior {
    /// mask (1, 1, S, S) with values in [0, 1] -> (1, 1, grid, grid).
    public static func make(mask: Tensor, grid: Int, sigma: Float) -> Tensor {
        precondition(mask.shape.count == 4 && mask.shape[0] == 1 && mask.shape[1] == 1 && mask.shape[2] % grid == 0
                     && mask.shape[3] % grid == 0, "support mask must be 1 x 1 x S x S with S a multiple of \(grid), got \(mask.shape)")
        let area = Variable.noGrad { Variable(mask).averagePooled(height: grid, width: grid).value }
        let kernel = 2 * Int((3 * sigma).rounded(.up)) + 1
        var blurred = area.gaussianBlur(kernelSize: kernel, sigma: sigma)
        let peak = blurred.max()
        for i in 0..<blurred.count where area.data[i] >= 0.5 { blurred.data[i] = peak }
        return blurred
    }

    /// M': the prior (1, 1, G, G) repeated over `channels`, laid out as tokens (G*G, channels).
    public static func expanded(_ prior: Tensor, channels: Int) -> Tensor {
        Tensor(shape: [prior.count, channels], data: prior.data.flatMap { [Float](repeating: $0, count: channels) })
    }
}
