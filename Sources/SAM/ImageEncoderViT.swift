import NN
import TensorCore

/// SAM's ViT image encoder (`ImageEncoderViT`): patch embedding, absolute positions, blocks, neck.
///
/// Besides the whole forward it opens the steps adapters need: the patch tokens before `pos_embed`,
/// a per-block injection (block i's input becomes x + P_i), taps at any blocks, and the neck on any tap.
public struct ImageEncoderViT: Module {
    public static let checkpointKeys = ["patchEmbed": "patch_embed.proj"]
    public let config: SAMConfig.Encoder
    public let patchEmbed: Conv2d
    public let posEmbed: Variable
    public let blocks: [ViTBlock]
    public let neck: SAMNeck

    /// The encoder of a configuration, with placeholder values: load a checkpoint or call `initialize`.
    public init(config c: SAMConfig.Encoder) {
        config = c
        patchEmbed = Conv2d(3, c.embedDim, kernel: c.patchSize, stride: c.patchSize)
        posEmbed = Variable(Tensor.zeros([1, c.gridSize, c.gridSize, c.embedDim]), requiresGrad: true)
        blocks = (0..<c.depth).map { i in
            ViTBlock(dim: c.embedDim, heads: c.heads, mlpDim: c.mlpDim,
                     window: c.globalAttentionBlocks.contains(i) ? 0 : c.windowSize, gridSize: c.gridSize, eps: Float(c.layerNormEps))
        }
        neck = SAMNeck(inChannels: c.embedDim, outChannels: c.outChannels)
    }

    /// SAM zero-initialises `pos_embed`.
    public func initializer(forKey key: String, shape: [Int]) -> Initializer? { key == "pos_embed" ? .zeros : nil }

    /// The patch tokens (B, grid, grid, embedDim) of a preprocessed (B, 3, size, size) input, before `pos_embed`.
    public func patchTokens(_ image: Variable) -> Variable {
        precondition(image.shape.count == 4 && image.shape[1] == 3 && image.shape[2] == config.imageSize && image.shape[3] == config.imageSize,
                     "image encoder expects B x 3 x \(config.imageSize) x \(config.imageSize), got \(image.shape)")
        return Profiler.shared.measure("patch embed") { patchEmbed(image).permuted([0, 2, 3, 1]) }
    }

    /// Adds `pos_embed` to patch tokens and runs the blocks.
    ///
    /// - `injection(i)`: when non-nil, added to block i's input (after `pos_embed` for block 0), shape
    ///   (B or 1, grid, grid, embedDim).
    /// - `taps`: 0-based blocks whose outputs are returned, in that order.
    /// - `recompute`: when a graph is recorded, keep only each block's input and recompute the block during
    ///   the backward pass (activation checkpointing): memory of one block's graph instead of all of them.
    public func blocks(_ patchTokens: Variable, injection: ((Int) -> Variable?)? = nil, taps: [Int] = [],
                       recompute: Bool = false) -> (output: Variable, taps: [Variable]) {
        precondition(taps.allSatisfy { $0 >= 0 && $0 < blocks.count }, "taps \(taps) outside blocks 0..<\(blocks.count)")
        var x = Profiler.shared.measure("patch embed") { patchTokens + posEmbed }
        var tapped: [Int: Variable] = [:]
        for (i, block) in blocks.enumerated() {
            if let p = injection?(i) {
                precondition(p.shape.count == 4 && Array(p.shape[1...]) == Array(x.shape[1...]) && (p.shape[0] == 1 || p.shape[0] == x.shape[0]),
                             "injection for block \(i) must be (B or 1) x \(Array(x.shape[1...])), got \(p.shape)")
                x = x + p
            }
            x = recompute ? Variable.recomputed([x], parameters: block.parameters) { block($0[0]) } : block(x)
            if taps.contains(i) { tapped[i] = x }
            EncoderProgress.finished(block: i, of: blocks.count)
        }
        return (x, taps.map { tapped[$0]! })
    }

    /// The image embedding (B, outChannels, grid, grid) of a preprocessed (B, 3, size, size) input, and the
    /// (B, grid, grid, embedDim) outputs of the blocks listed in `taps` (0-based), in that order.
    public func callAsFunction(_ image: Variable, taps: [Int]) -> (embedding: Variable, taps: [Variable]) {
        let r = blocks(patchTokens(image), taps: taps)
        return (neck(tokens: r.output), r.taps)
    }
}
