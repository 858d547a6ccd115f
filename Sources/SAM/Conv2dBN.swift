import NN
import TensorCore

/// TinyViT's `Conv2d_BN`: a bias-free convolution (`.c`) followed by BatchNorm (`.bn`) in inference form.
///
/// Runs as one convolution with the BatchNorm folded in (weight * scale per output channel, bias =
/// shift), which is what `Conv2d_BN.fuse()` does; the fold is built from differentiable ops each call, so
/// gradients reach the convolution weight and the BatchNorm weight and bias.
public struct Conv2dBN: Module {
    public static let checkpointKeys = ["conv": "c"]
    public let conv: Conv2d
    public let bn: BatchNorm2d

    public init(_ cIn: Int, _ cOut: Int, kernel: Int = 1, stride: Int = 1, padding: Int = 0, groups: Int = 1) {
        conv = Conv2d(cIn, cOut, kernel: kernel, stride: stride, padding: padding, groups: groups, bias: false)
        bn = BatchNorm2d(cOut)
    }

    /// x: (N, C, H, W).
    public func callAsFunction(_ x: Variable) -> Variable {
        let (scale, shift) = bn.affine()
        let w = conv.weight * scale.reshaped([-1, 1, 1, 1])
        return Variable.conv2d(x, weight: w, bias: shift, stride: (conv.stride, conv.stride),
                               padding: (conv.padding, conv.padding), groups: conv.groups)
    }
}
