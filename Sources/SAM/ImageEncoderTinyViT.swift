import TensorCore

/// MobileSAM's image encoder (`tiny_vit_sam.TinyViT`): conv stem to 1/4, MBConv stage, three windowed
/// attention stages joined by patch merging, SAM's neck to (B, outChannels, S/16, S/16).
///
/// Taps are numbered by block across all stages in order (MobileSAM: 0-1 MBConv, 2-3 stage 1, 4-9
/// stage 2, 10-11 stage 3); tap i is the output of block i, before any patch merging that follows it,
/// laid out (B, H, W, C) like the ViT's taps.
///
/// The checkpoint's classification head (`norm_head`, `head`) is unused by SAM and not bound.
public struct ImageEncoderTinyViT {
    public let config: SAMConfig.TinyViTEncoder
    public let imageSize: Int
    public let stem1: Conv2dBN, stem2: Conv2dBN
    public let convBlocks: [MBConv]
    /// Attention stages 1..<4 (index 0 here is stage 1).
    public let stages: [[TinyViTBlock]]
    /// Patch merging after stages 0, 1, 2.
    public let merges: [PatchMerging]
    public let neckConv1: Conv2d, neckNorm1: LayerNorm2d, neckConv2: Conv2d, neckNorm2: LayerNorm2d

    public init(_ b: WeightBinder, config c: SAMConfig.TinyViTEncoder, imageSize: Int, outChannels: Int,
                prefix: String = "image_encoder") {
        precondition(c.embedDims.count == 4 && c.depths.count == 4 && c.heads.count == 4 && c.windowSizes.count == 4,
                     "TinyViT needs 4 stages, got embedDims \(c.embedDims), depths \(c.depths), heads \(c.heads), windows \(c.windowSizes)")
        config = c
        self.imageSize = imageSize
        let d = c.embedDims
        stem1 = Conv2dBN(b, "\(prefix).patch_embed.seq.0", in: 3, out: d[0] / 2, kernel: 3, stride: 2, padding: 1)
        stem2 = Conv2dBN(b, "\(prefix).patch_embed.seq.2", in: d[0] / 2, out: d[0], kernel: 3, stride: 2, padding: 1)
        convBlocks = (0..<c.depths[0]).map { MBConv(b, "\(prefix).layers.0.blocks.\($0)", dim: d[0], expandRatio: c.mbconvExpandRatio) }
        stages = (1..<4).map { s in
            (0..<c.depths[s]).map { i in
                TinyViTBlock(b, "\(prefix).layers.\(s).blocks.\(i)", dim: d[s], heads: c.heads[s], window: c.windowSizes[s],
                             mlpRatio: c.mlpRatio, localConvSize: c.localConvSize)
            }
        }
        merges = (0..<3).map { s in
            PatchMerging(b, "\(prefix).layers.\(s).downsample", in: d[s], out: d[s + 1], stride: c.mergeStride(after: s))
        }
        neckConv1 = Conv2d(b, "\(prefix).neck.0", in: d[3], out: outChannels, kernel: 1, bias: false)
        neckNorm1 = LayerNorm2d(b, "\(prefix).neck.1", channels: outChannels)
        neckConv2 = Conv2d(b, "\(prefix).neck.2", in: outChannels, out: outChannels, kernel: 3, padding: 1, bias: false)
        neckNorm2 = LayerNorm2d(b, "\(prefix).neck.3", channels: outChannels)
        b.ignoredPrefixes += ["\(prefix).norm_head.", "\(prefix).head."]
    }

    /// Number of tappable blocks (all stages).
    public var blockCount: Int { config.depths.reduce(0, +) }

    /// The image embedding (B, outChannels, S/16, S/16) of a preprocessed (B, 3, S, S) input, and the
    /// outputs of the blocks listed in `taps` (see the type's note), in that order.
    public func callAsFunction(_ image: Variable, taps: [Int]) -> (embedding: Variable, taps: [Variable]) {
        precondition(image.shape.count == 4 && image.shape[1] == 3 && image.shape[2] == imageSize && image.shape[3] == imageSize,
                     "TinyViT image encoder expects B x 3 x \(imageSize) x \(imageSize), got \(image.shape)")
        precondition(taps.allSatisfy { $0 >= 0 && $0 < blockCount }, "taps \(taps) outside blocks 0..<\(blockCount)")
        let prof = Profiler.shared
        var tapped: [Int: Variable] = [:]
        var block = 0
        var x = prof.measure("stem") { stem2(stem1(image).gelu()) }  // (B, C, S/4, S/4)
        for mb in convBlocks {
            x = prof.measure("stage 0 (MBConv)") { mb(x) }
            if taps.contains(block) { tapped[block] = x.permuted([0, 2, 3, 1]) }
            block += 1
        }
        var t = prof.measure("patch merging") { merges[0](x).permuted([0, 2, 3, 1]) }  // tokens (B, H, W, C) from here on
        for (s, blocks) in stages.enumerated() {
            for blk in blocks {
                t = prof.measure("stage \(s + 1) (attention)") { blk(t) }
                if taps.contains(block) { tapped[block] = t }
                block += 1
            }
            if s + 1 < merges.count { t = prof.measure("patch merging") { merges[s + 1](t.permuted([0, 3, 1, 2])).permuted([0, 2, 3, 1]) } }
        }
        let neck = prof.measure("neck") { neckNorm2(neckConv2(neckNorm1(neckConv1(t.permuted([0, 3, 1, 2]))))) }
        return (neck, taps.map { tapped[$0]! })
    }

    public var parameters: [Variable] {
        stem1.parameters + stem2.parameters + convBlocks.flatMap(\.parameters) + merges.flatMap(\.parameters)
            + stages.flatMap { $0.flatMap(\.parameters) }
            + neckConv1.parameters + neckNorm1.parameters + neckConv2.parameters + neckNorm2.parameters
    }
}

extension ImageEncoderTinyViT: SAMImageEncoder {
    public var inputSize: Int { imageSize }
}
