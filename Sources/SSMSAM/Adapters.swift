import NN
import SAM
import TensorCore

/// SSM-SAM's ViT adapters (explicit-visual-prompt style, as SAM-Adapter): the embedding feature from the
/// patch tokens before `pos_embed`, the handcrafted feature from the high-pass image, and per block i the
/// prompt P_i = up(GELU(tune_i(F_emb + F_hfc))) added to block i's input.
public struct ViTAdapters: Module {
    public let embedding: Linear
    public let handcrafted: Conv2d
    public let tune: [Linear]
    public let up: Linear

    /// Linear weights truncated normal std 0.02 and zero biases; the conv normal(0, sqrt(2 / fan_out)).
    public init(embedDim d: Int, width h: Int, depth: Int, patchSize: Int) {
        let linearWeight = Initializer.truncatedNormal(std: 0.02)
        embedding = Linear(d, h, weightInit: linearWeight, biasInit: .zeros)
        handcrafted = Conv2d(3, h, kernel: patchSize, stride: patchSize,
                             weightInit: .kaimingNormal(mode: .fanOut, nonlinearity: .relu), biasInit: .zeros)
        tune = (0..<depth).map { _ in Linear(h, h, weightInit: linearWeight, biasInit: .zeros) }
        up = Linear(h, d, weightInit: linearWeight, biasInit: .zeros)
    }

    /// The per-block prompts (B, G, G, D) from the patch tokens (B, G, G, D) and the high-pass image (B, 3, S, S).
    public func prompts(patchTokens: Variable, highPass: Tensor) -> [Variable] {
        let hfc = handcrafted(Variable(highPass)).permuted([0, 2, 3, 1])
        let base = embedding(patchTokens) + hfc
        return tune.map { up($0(base).gelu()) }
    }
}

/// TinyViT levels 1-3 (our design, ssm-sam.md): a stage output block-averaged to the level grid (a frozen,
/// cacheable feature) and projected to the neck's width by a 1x1 conv and LayerNorm2d.
public struct LevelProjection: Module {
    public let proj: Conv2d
    public let norm: LayerNorm2d
    public init(inChannels: Int, channels: Int) {
        proj = Conv2d(inChannels, channels, kernel: 1)
        norm = LayerNorm2d(channels)
    }
    /// The frozen part: stage tokens (B, H, W, Cin) -> block means (B, Cin, grid, grid).
    public static func pooled(tokens: Variable, grid: Int) -> Variable {
        tokens.permuted([0, 3, 1, 2]).averagePooled(height: grid, width: grid)
    }
    /// Pooled stage features (B, Cin, grid, grid) -> the level (B, channels, grid, grid).
    public func callAsFunction(_ pooled: Variable) -> Variable { norm(proj(pooled)) }
}
