import NN
import TensorCore

/// TinyViT's `MBConv` (stage 0): 1x1 expand, 3x3 depthwise, 1x1 project, each with folded BatchNorm and
/// GELU between them, then the residual and a final GELU.
public struct MBConv: Module {
    public let conv1: Conv2dBN, conv2: Conv2dBN, conv3: Conv2dBN

    public init(dim: Int, expandRatio: Int) {
        let hidden = dim * expandRatio
        conv1 = Conv2dBN(dim, hidden)
        conv2 = Conv2dBN(hidden, hidden, kernel: 3, padding: 1, groups: hidden)
        conv3 = Conv2dBN(hidden, dim)
    }

    /// x: (N, C, H, W) -> same shape.
    public func callAsFunction(_ x: Variable) -> Variable {
        (conv3(conv2(conv1(x).gelu()).gelu()) + x).gelu()
    }
}
