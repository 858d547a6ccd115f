import NN
import TensorCore

/// One ViT block (`image_encoder.Block`): pre-norm windowed or global attention, then the MLP, each with
/// a residual.
public struct ViTBlock: Module {
    public static let checkpointKeys = ["attention": "attn"]
    public let norm1: LayerNorm
    public let attention: RelativePositionAttention
    public let norm2: LayerNorm
    public let mlp: MLPBlock
    /// Window side, or 0 for global attention.
    public let window: Int

    /// `gridSize`: the token grid side (the attention's input size for a global block).
    public init(dim: Int, heads: Int, mlpDim: Int, window: Int, gridSize: Int, eps: Float = 1e-6) {
        norm1 = LayerNorm(dim, eps: eps)
        attention = RelativePositionAttention(dim: dim, heads: heads, inputSize: window > 0 ? window : gridSize)
        norm2 = LayerNorm(dim, eps: eps)
        mlp = MLPBlock(dim, hidden: mlpDim, activation: .gelu)
        self.window = window
    }

    /// x: (B, H, W, C) -> same shape.
    public func callAsFunction(_ x: Variable) -> Variable {
        let prof = Profiler.shared
        var y = prof.measure("layer norm") { norm1(x) }
        if window > 0 {
            let (h, w) = (x.shape[1], x.shape[2])
            let (windows, padded) = prof.measure("window partition") { y.windowPartition(window) }
            let attended = attention(windows)
            y = prof.measure("window partition") { Variable.windowUnpartition(attended, window: window, paddedHW: padded, hw: (h, w)) }
        } else {
            y = attention(y)
        }
        let z = prof.measure("residual add") { x + y }
        let m = mlp(prof.measure("layer norm") { norm2(z) })
        return prof.measure("residual add") { z + m }
    }
}

/// SAM's neck (`image_encoder.neck`, a Sequential): Conv1x1 D -> C (no bias), LayerNorm2d, Conv3x3 C -> C
/// (padding 1, no bias), LayerNorm2d.
public struct SAMNeck: Module {
    public static let checkpointKeys = ["conv1": "0", "norm1": "1", "conv2": "2", "norm2": "3"]
    public let conv1: Conv2d, norm1: LayerNorm2d, conv2: Conv2d, norm2: LayerNorm2d

    public init(inChannels: Int, outChannels: Int) {
        conv1 = Conv2d(inChannels, outChannels, kernel: 1, bias: false)
        norm1 = LayerNorm2d(outChannels)
        conv2 = Conv2d(outChannels, outChannels, kernel: 3, padding: 1, bias: false)
        norm2 = LayerNorm2d(outChannels)
    }

    public var inChannels: Int { conv1.weight.shape[1] }

    /// Tokens (B, H, W, D) -> the embedding (B, C, H, W).
    public func callAsFunction(tokens: Variable) -> Variable {
        precondition(tokens.shape.count == 4 && tokens.shape[3] == inChannels,
                     "neck expects B x H x W x \(inChannels) tokens, got \(tokens.shape)")
        return Profiler.shared.measure("neck") { norm2(conv2(norm1(conv1(tokens.permuted([0, 3, 1, 2]))))) }
    }
}
