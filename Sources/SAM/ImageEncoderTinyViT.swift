import NN
import TensorCore

/// TinyViT's conv stem (`patch_embed.seq`): Conv2d_BN stride 2, GELU, Conv2d_BN stride 2 (to 1/4).
public struct TinyViTPatchEmbed: Module {
    public static let checkpointKeys = ["conv1": "seq.0", "conv2": "seq.2"]
    public let conv1: Conv2dBN, conv2: Conv2dBN
    public init(dim: Int) {
        conv1 = Conv2dBN(3, dim / 2, kernel: 3, stride: 2, padding: 1)
        conv2 = Conv2dBN(dim / 2, dim, kernel: 3, stride: 2, padding: 1)
    }
    public func callAsFunction(_ image: Variable) -> Variable { conv2(conv1(image).gelu()) }
}

/// TinyViT's `ConvLayer` (stage 0): MBConv blocks, then patch merging.
public struct TinyViTConvStage: Module {
    public let blocks: [MBConv]
    public let downsample: PatchMerging?
}

/// TinyViT's `BasicLayer` (stages 1-3): attention blocks, then patch merging except after the last stage.
public struct TinyViTAttentionStage: Module {
    public let blocks: [TinyViTBlock]
    public let downsample: PatchMerging?
}

/// MobileSAM's image encoder (`tiny_vit_sam.TinyViT`): conv stem to 1/4, an MBConv stage, three windowed
/// attention stages joined by patch merging, SAM's neck to (B, outChannels, S/16, S/16).
///
/// Blocks are numbered across all stages in order (MobileSAM: 0-1 MBConv, 2-3 stage 1, 4-9 stage 2,
/// 10-11 stage 3). Tap i is the output of block i, before any patch merging that follows it, laid out
/// (B, H, W, C) like the ViT's taps; `stageEnds` lists the last block of each stage. An injection for
/// block i is added to its (B, H, W, C) input.
///
/// The checkpoint's classification head (`norm_head`, `head`) is unused by SAM and not bound.
public struct ImageEncoderTinyViT: Module {
    public let config: SAMConfig.TinyViTEncoder
    public let imageSize: Int
    public let patchEmbed: TinyViTPatchEmbed
    public let convStage: TinyViTConvStage
    public let attentionStages: [TinyViTAttentionStage]
    public let neck: SAMNeck

    /// The encoder of a configuration, with placeholder values: load a checkpoint or call `initialize`.
    public init(config c: SAMConfig.TinyViTEncoder, imageSize: Int, outChannels: Int) {
        precondition(c.embedDims.count == 4 && c.depths.count == 4 && c.heads.count == 4 && c.windowSizes.count == 4,
                     "TinyViT needs 4 stages, got embedDims \(c.embedDims), depths \(c.depths), heads \(c.heads), windows \(c.windowSizes)")
        config = c
        self.imageSize = imageSize
        let d = c.embedDims
        patchEmbed = TinyViTPatchEmbed(dim: d[0])
        convStage = TinyViTConvStage(
            blocks: (0..<c.depths[0]).map { _ in MBConv(dim: d[0], expandRatio: c.mbconvExpandRatio) },
            downsample: PatchMerging(in: d[0], out: d[1], stride: c.mergeStride(after: 0)))
        attentionStages = (1..<4).map { s in
            TinyViTAttentionStage(
                blocks: (0..<c.depths[s]).map { _ in
                    TinyViTBlock(dim: d[s], heads: c.heads[s], window: c.windowSizes[s], mlpRatio: c.mlpRatio,
                                 localConvSize: c.localConvSize)
                },
                downsample: s < 3 ? PatchMerging(in: d[s], out: d[s + 1], stride: c.mergeStride(after: s)) : nil)
        }
        neck = SAMNeck(inChannels: d[3], outChannels: outChannels)
    }

    /// The checkpoint layout: `layers.0` is the conv stage, `layers.1...` the attention stages.
    public var entries: [ModuleEntry] {
        [ModuleEntry("patch_embed", .module(patchEmbed)), ModuleEntry("layers.0", .module(convStage))]
            + attentionStages.enumerated().map { ModuleEntry("layers.\($0.offset + 1)", .module($0.element)) }
            + [ModuleEntry("neck", .module(neck))]
    }

    public var unusedCheckpointPrefixes: [String] { ["norm_head.", "head."] }

    /// Number of tappable blocks (all stages).
    public var blockCount: Int { config.depths.reduce(0, +) }

    /// The last block of each stage (taps of the four stage outputs).
    public var stageEnds: [Int] {
        var end = -1
        return config.depths.map { end += $0; return end }
    }

    /// The stem, the stages and their blocks; see the type's note for `taps` and `injection`.
    public func blocks(_ image: Variable, injection: ((Int) -> Variable?)? = nil, taps: [Int] = []) -> (output: Variable, taps: [Variable]) {
        precondition(image.shape.count == 4 && image.shape[1] == 3 && image.shape[2] == imageSize && image.shape[3] == imageSize,
                     "TinyViT image encoder expects B x 3 x \(imageSize) x \(imageSize), got \(image.shape)")
        precondition(taps.allSatisfy { $0 >= 0 && $0 < blockCount }, "taps \(taps) outside blocks 0..<\(blockCount)")
        let prof = Profiler.shared
        var tapped: [Int: Variable] = [:]
        var block = 0
        /// Adds block i's injection to tokens (B, H, W, C).
        func inject(_ t: Variable) -> Variable {
            guard let p = injection?(block) else { return t }
            precondition(p.shape.count == 4 && Array(p.shape[1...]) == Array(t.shape[1...]),
                         "injection for block \(block) must be (B or 1) x \(Array(t.shape[1...])), got \(p.shape)")
            return t + p
        }
        var x = prof.measure("stem") { patchEmbed(image) }  // (B, C, S/4, S/4)
        for mb in convStage.blocks {
            if injection != nil { x = inject(x.permuted([0, 2, 3, 1])).permuted([0, 3, 1, 2]) }
            x = prof.measure("stage 0 (MBConv)") { mb(x) }
            if taps.contains(block) { tapped[block] = x.permuted([0, 2, 3, 1]) }
            EncoderProgress.finished(block: block, of: blockCount)
            block += 1
        }
        var t = prof.measure("patch merging") { convStage.downsample!(x).permuted([0, 2, 3, 1]) }  // (B, H, W, C) from here on
        for (s, stage) in attentionStages.enumerated() {
            for blk in stage.blocks {
                t = prof.measure("stage \(s + 1) (attention)") { blk(inject(t)) }
                if taps.contains(block) { tapped[block] = t }
                EncoderProgress.finished(block: block, of: blockCount)
                block += 1
            }
            if let merge = stage.downsample {
                t = prof.measure("patch merging") { merge(t.permuted([0, 3, 1, 2])).permuted([0, 2, 3, 1]) }
            }
        }
        return (t, taps.map { tapped[$0]! })
    }

    /// The image embedding (B, outChannels, S/16, S/16) of a preprocessed (B, 3, S, S) input, and the
    /// outputs of the blocks listed in `taps` (see the type's note), in that order.
    public func callAsFunction(_ image: Variable, taps: [Int]) -> (embedding: Variable, taps: [Variable]) {
        let r = blocks(image, taps: taps)
        return (neck(tokens: r.output), r.taps)
    }
}

extension ImageEncoderTinyViT: SAMImageEncoder {
    public var inputSize: Int { imageSize }
}
