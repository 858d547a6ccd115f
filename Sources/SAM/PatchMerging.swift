import NN
import TensorCore

/// TinyViT's `PatchMerging` between stages: 1x1 to the next width, GELU, 3x3 depthwise with the given
/// stride, GELU, 1x1; each convolution with folded BatchNorm.
public struct PatchMerging: Module {
    public let conv1: Conv2dBN, conv2: Conv2dBN, conv3: Conv2dBN

    public init(in dim: Int, out outDim: Int, stride: Int) {
        conv1 = Conv2dBN(dim, outDim)
        conv2 = Conv2dBN(outDim, outDim, kernel: 3, stride: stride, padding: 1, groups: outDim)
        conv3 = Conv2dBN(outDim, outDim)
    }

    /// x: (N, C, H, W) -> (N, outDim, H / stride, W / stride) (rounded up).
    public func callAsFunction(_ x: Variable) -> Variable {
        conv3(conv2(conv1(x).gelu()).gelu())
    }
}
