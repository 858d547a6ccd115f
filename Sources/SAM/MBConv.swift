import TensorCore

/// TinyViT's `MBConv` (stage 0): 1x1 expand, 3x3 depthwise, 1x1 project, each with folded BatchNorm and
/// GELU between them, then the residual and a final GELU.
public struct MBConv {
    public let conv1: Conv2dBN, conv2: Conv2dBN, conv3: Conv2dBN

    public init(_ b: WeightBinder, _ prefix: String, dim: Int, expandRatio: Int) {
        let hidden = dim * expandRatio
        conv1 = Conv2dBN(b, "\(prefix).conv1", in: dim, out: hidden)
        conv2 = Conv2dBN(b, "\(prefix).conv2", in: hidden, out: hidden, kernel: 3, padding: 1, groups: hidden)
        conv3 = Conv2dBN(b, "\(prefix).conv3", in: hidden, out: dim)
    }

    /// x: (N, C, H, W) -> same shape.
    public func callAsFunction(_ x: Variable) -> Variable {
        (conv3(conv2(conv1(x).gelu()).gelu()) + x).gelu()
    }

    public var parameters: [Variable] { conv1.parameters + conv2.parameters + conv3.parameters }
}
