import TensorCore

/// One ViT block: pre-norm windowed or global attention, then the MLP (`image_encoder.Block`).
public struct ViTBlock {
    public let norm1: LayerNorm, norm2: LayerNorm
    public let attention: RelativePositionAttention
    public let mlp: MLPBlock
    /// Window side, or 0 for global attention.
    public let window: Int

    init(_ b: WeightBinder, _ prefix: String, config c: SAMConfig.Encoder, window: Int) {
        norm1 = LayerNorm(b, "\(prefix).norm1", dim: c.embedDim, eps: 1e-6)
        norm2 = LayerNorm(b, "\(prefix).norm2", dim: c.embedDim, eps: 1e-6)
        attention = RelativePositionAttention(b, "\(prefix).attn", dim: c.embedDim, heads: c.heads,
                                              inputSize: window > 0 ? window : c.gridSize)
        mlp = MLPBlock(b, "\(prefix).mlp", dim: c.embedDim, hidden: c.mlpDim, gelu: true)
        self.window = window
    }

    /// x: (B, H, W, C).
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
        let n = prof.measure("layer norm") { norm2(z) }
        let hidden = prof.measure("mlp lin1") { mlp.lin1(n) }
        let act = prof.measure("gelu") { hidden.gelu() }
        let m = prof.measure("mlp lin2") { mlp.lin2(act) }
        return prof.measure("residual add") { z + m }
    }

    public var parameters: [Variable] { norm1.parameters + norm2.parameters + attention.parameters + mlp.parameters }
}

/// SAM's ViT image encoder (`ImageEncoderViT`): patch embedding, absolute positions, blocks, neck.
public struct ImageEncoderViT {
    public let config: SAMConfig.Encoder
    public let patchEmbed: Conv2d
    public let posEmbed: Variable
    public let blocks: [ViTBlock]
    public let neckConv1: Conv2d, neckNorm1: LayerNorm2d, neckConv2: Conv2d, neckNorm2: LayerNorm2d

    public init(_ b: WeightBinder, config c: SAMConfig.Encoder, prefix: String = "image_encoder") {
        config = c
        patchEmbed = Conv2d(b, "\(prefix).patch_embed.proj", in: 3, out: c.embedDim, kernel: c.patchSize, stride: c.patchSize)
        posEmbed = b.take("\(prefix).pos_embed", shape: [1, c.gridSize, c.gridSize, c.embedDim])
        blocks = (0..<c.depth).map { i in
            ViTBlock(b, "\(prefix).blocks.\(i)", config: c, window: c.globalAttentionBlocks.contains(i) ? 0 : c.windowSize)
        }
        neckConv1 = Conv2d(b, "\(prefix).neck.0", in: c.embedDim, out: c.outChannels, kernel: 1, bias: false)
        neckNorm1 = LayerNorm2d(b, "\(prefix).neck.1", channels: c.outChannels)
        neckConv2 = Conv2d(b, "\(prefix).neck.2", in: c.outChannels, out: c.outChannels, kernel: 3, padding: 1, bias: false)
        neckNorm2 = LayerNorm2d(b, "\(prefix).neck.3", channels: c.outChannels)
    }

    /// The image embedding (B, outChannels, grid, grid) of a preprocessed (B, 3, size, size) input, and the
    /// (B, grid, grid, embedDim) outputs of the blocks listed in `taps` (0-based), in that order.
    public func callAsFunction(_ image: Variable, taps: [Int]) -> (embedding: Variable, taps: [Variable]) {
        precondition(image.shape.count == 4 && image.shape[1] == 3 && image.shape[2] == config.imageSize && image.shape[3] == config.imageSize,
                     "image encoder expects B x 3 x \(config.imageSize) x \(config.imageSize), got \(image.shape)")
        let prof = Profiler.shared
        var x = prof.measure("patch embed") { patchEmbed(image).permuted([0, 2, 3, 1]) + posEmbed }
        precondition(taps.allSatisfy { $0 >= 0 && $0 < blocks.count }, "taps \(taps) outside blocks 0..<\(blocks.count)")
        var tapped: [Int: Variable] = [:]
        for (i, block) in blocks.enumerated() {
            x = block(x)
            if taps.contains(i) { tapped[i] = x }
        }
        let neck = prof.measure("neck") { neckNorm2(neckConv2(neckNorm1(neckConv1(x.permuted([0, 3, 1, 2]))))) }
        return (neck, taps.map { tapped[$0]! })
    }

    public var parameters: [Variable] {
        patchEmbed.parameters + [posEmbed] + blocks.flatMap(\.parameters)
            + neckConv1.parameters + neckNorm1.parameters + neckConv2.parameters + neckNorm2.parameters
    }
}
