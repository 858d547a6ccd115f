import Diagnostics
import Formats

extension SAMConfig {
    /// MobileSAM's TinyViT image encoder (`tiny_vit_sam.TinyViT`): a convolutional stem (stride 4), one
    /// MBConv stage, then windowed-attention stages joined by patch merging, and SAM's neck.
    ///
    /// Arrays hold one entry per stage. Stage 0 is convolutional, so `heads[0]`, `windowSizes[0]` and
    /// `mlpRatio` do not apply to it (the reference takes them anyway). Exactly four stages: patch merging
    /// halves the resolution after stages 0 and 1 but not after stage 2 (the reference picks that stride
    /// from the output width; for every SAM TinyViT it is the last merge), so the last two stages run at
    /// 1/16 of the input, the SAM embedding grid.
    public struct TinyViTEncoder: Codable, Equatable, Sendable {
        public var embedDims = [64, 128, 160, 320], depths = [2, 2, 6, 2]
        public var heads = [2, 4, 5, 10], windowSizes = [7, 7, 14, 7]
        /// MLP hidden width / dim in attention blocks.
        public var mlpRatio = 4
        /// MBConv hidden width / dim in stage 0.
        public var mbconvExpandRatio = 4
        /// Kernel of the depthwise convolution between attention and MLP.
        public var localConvSize = 3
        public init() {}

        /// Stride of the patch merging after stage `i` (0..<3).
        public func mergeStride(after i: Int) -> Int { i == embedDims.count - 2 ? 1 : 2 }

        /// Reads the settings from `prefix.*` shapes (`patch_embed.seq...`, `layers.N...`). Stage 0's
        /// heads and window cannot be seen and are left at MobileSAM's values.
        static func detect(from dict: StateDict, file: String, prefix: String) throws -> TinyViTEncoder {
            func shape(_ name: String, rank: Int = 1) throws -> [Int] {
                guard let s = dict["\(prefix).\(name)"]?.shape else {
                    throw ToolkitError(.mismatch, subject: file, "not a TinyViT SAM checkpoint: no tensor '\(prefix).\(name)'")
                }
                return try SAMConfig.atLeast(rank, s, "\(prefix).\(name)", file: file)
            }
            var t = TinyViTEncoder()
            let stages = (0...).prefix { dict["\(prefix).layers.\($0).blocks.0.\($0 == 0 ? "conv1.c" : "attn.qkv").weight"] != nil }.count
            guard stages == 4 else {
                throw ToolkitError(.unsupported, subject: file, "TinyViT with \(stages) stages (layers.N with blocks): expected 4 (MBConv + 3 attention stages)")
            }
            t.depths = (0..<stages).map { s in (0...).prefix { dict["\(prefix).layers.\(s).blocks.\($0).\(s == 0 ? "conv1.c" : "attn.qkv").weight"] != nil }.count }
            let conv1 = try shape("layers.0.blocks.0.conv1.c.weight", rank: 2)
            t.embedDims[0] = conv1[1]
            t.mbconvExpandRatio = SAMConfig.ratio(conv1[0], conv1[1])
            for s in 1..<stages {
                let dim = try shape("layers.\(s).blocks.0.attn.norm.weight")[0]
                let biases = try shape("layers.\(s).blocks.0.attn.attention_biases", rank: 2)
                t.embedDims[s] = dim
                t.heads[s] = biases[0]
                // One bias per offset (|dy|, |dx|), each in 0..<window: window^2 offsets.
                let window = Int(Double(biases[1]).squareRoot().rounded())
                guard window * window == biases[1] else {
                    throw ToolkitError(.invalidFile, subject: file, "\(prefix).layers.\(s).blocks.0.attn.attention_biases \(biases): the offset count is not a square window")
                }
                t.windowSizes[s] = window
            }
            t.mlpRatio = SAMConfig.ratio(try shape("layers.1.blocks.0.mlp.fc1.weight")[0], t.embedDims[1])
            t.localConvSize = try shape("layers.1.blocks.0.local_conv.c.weight", rank: 3)[2]
            return t
        }
    }
}
