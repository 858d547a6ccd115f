import NN
import TensorCore

/// One TinyViT attention block (`TinyViTBlock`): windowed attention with residual, a depthwise local
/// convolution (folded BatchNorm, no residual), then the MLP with residual.
public struct TinyViTBlock: Module {
    public static let checkpointKeys = ["attention": "attn"]
    public let attention: TinyViTAttention
    public let localConv: Conv2dBN
    public let mlp: TinyViTMLP
    public let window: Int

    public init(dim: Int, heads: Int, window: Int, mlpRatio: Int, localConvSize: Int) {
        attention = TinyViTAttention(dim: dim, heads: heads, window: window)
        localConv = Conv2dBN(dim, dim, kernel: localConvSize, padding: localConvSize / 2, groups: dim)
        mlp = TinyViTMLP(dim: dim, hidden: dim * mlpRatio)
        self.window = window
    }

    /// x: (B, H, W, C) -> same shape.
    public func callAsFunction(_ x: Variable) -> Variable {
        let (h, w, c) = (x.shape[1], x.shape[2], x.shape[3])
        // Zero padding to whole windows comes before the attention's own LayerNorm, as in the reference:
        // padded tokens enter the attention as the norm's bias.
        let (windows, padded) = x.windowPartition(window)
        let attended = attention(windows.reshaped([-1, window * window, c])).reshaped([-1, window, window, c])
        let y = x + Variable.windowUnpartition(attended, window: window, paddedHW: padded, hw: (h, w))
        let z = localConv(y.permuted([0, 3, 1, 2])).permuted([0, 2, 3, 1])
        return z + mlp(z)
    }
}
