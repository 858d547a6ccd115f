import Diagnostics

extension SAMConfig {
    /// What keeps this architecture from being built and run (empty when it can be): sizes that must be
    /// positive, widths that must split into heads, an image size the encoder's stride divides. The model
    /// constructors state these as preconditions, and the tensor kernels' own shape checks are compiled out
    /// of release builds, so configurations that come from files (a JSON config, a zoo manifest, shapes
    /// read from a checkpoint) are checked here first.
    public var problems: [String] {
        var p: [String] = []
        func positive(_ name: String, _ v: Int) -> Bool {
            if v <= 0 { p.append("\(name) is \(v), expected a positive size") }
            return v > 0
        }
        let e = encoder, d = decoder
        if positive("encoder.imageSize", e.imageSize) && positive("encoder.patchSize", e.patchSize) && e.imageSize % e.patchSize != 0 {
            p.append("encoder.imageSize \(e.imageSize) is not a multiple of patchSize \(e.patchSize)")
        }
        _ = positive("encoder.outChannels", e.outChannels)
        for (name, eps) in [("encoder.layerNormEps", e.layerNormEps), ("decoder.layerNormEps", d.layerNormEps)] where !(eps > 0 && eps < 1) {
            p.append("\(name) is \(eps), expected a small positive number")
        }
        switch kind {
        case .vit:
            if positive("encoder.embedDim", e.embedDim) && positive("encoder.heads", e.heads) && e.embedDim % e.heads != 0 {
                p.append("encoder.embedDim \(e.embedDim) is not a multiple of heads \(e.heads)")
            }
            _ = positive("encoder.mlpDim", e.mlpDim)
            _ = positive("encoder.windowSize", e.windowSize)
            if positive("encoder.depth", e.depth), let bad = e.globalAttentionBlocks.first(where: { !(0..<e.depth).contains($0) }) {
                p.append("encoder.globalAttentionBlocks names block \(bad), the encoder has \(e.depth)")
            }
        case .tinyViT:
            let t = tinyViT ?? TinyViTEncoder()
            if e.patchSize != 16 { p.append("encoder.patchSize is \(e.patchSize); a TinyViT encoder has stride 16") }
            guard [t.embedDims.count, t.depths.count, t.heads.count, t.windowSizes.count] == [4, 4, 4, 4] else {
                p.append("tinyViT needs 4 stages, got embedDims \(t.embedDims), depths \(t.depths), heads \(t.heads), windowSizes \(t.windowSizes)")
                break
            }
            for s in 0..<4 {
                _ = positive("tinyViT.depths[\(s)]", t.depths[s])
                if positive("tinyViT.embedDims[\(s)]", t.embedDims[s]), s == 0, t.embedDims[0] % 2 != 0 {
                    p.append("tinyViT.embedDims[0] \(t.embedDims[0]) is not even")
                }
                guard s > 0 else { continue }
                if positive("tinyViT.heads[\(s)]", t.heads[s]), t.embedDims[s] > 0, t.embedDims[s] % t.heads[s] != 0 {
                    p.append("tinyViT.embedDims[\(s)] \(t.embedDims[s]) is not a multiple of heads \(t.heads[s])")
                }
                _ = positive("tinyViT.windowSizes[\(s)]", t.windowSizes[s])
            }
            _ = positive("tinyViT.mlpRatio", t.mlpRatio)
            _ = positive("tinyViT.mbconvExpandRatio", t.mbconvExpandRatio)
            if positive("tinyViT.localConvSize", t.localConvSize), t.localConvSize % 2 == 0 {
                p.append("tinyViT.localConvSize \(t.localConvSize) is not odd")
            }
        }
        let sizes = [("decoder.promptDim", d.promptDim), ("decoder.maskInChannels", d.maskInChannels), ("decoder.transformerDepth", d.transformerDepth),
                     ("decoder.heads", d.heads), ("decoder.mlpDim", d.mlpDim), ("decoder.attentionDownsample", d.attentionDownsample),
                     ("decoder.multimaskOutputs", d.multimaskOutputs), ("decoder.iouHeadDepth", d.iouHeadDepth), ("decoder.iouHeadHidden", d.iouHeadHidden)]
        if sizes.map({ positive($0.0, $0.1) }).allSatisfy({ $0 }) {
            if d.promptDim % d.attentionDownsample != 0 || (d.promptDim / d.attentionDownsample) % d.heads != 0 || d.promptDim % d.heads != 0 {
                p.append("decoder.promptDim \(d.promptDim) does not split into \(d.heads) heads (downsample \(d.attentionDownsample))")
            }
            if d.promptDim % 8 != 0 { p.append("decoder.promptDim \(d.promptDim) is not a multiple of 8 (the upscaling's widths)") }
            if d.maskInChannels % 4 != 0 { p.append("decoder.maskInChannels \(d.maskInChannels) is not a multiple of 4") }
        }
        return p
    }

    /// Throws a `ToolkitError` (kind `.invalidFile`, naming `file`) listing every problem, if any.
    public func check(file: String) throws {
        let p = problems
        guard p.isEmpty else { throw ToolkitError(.invalidFile, subject: file, "not a usable SAM architecture: " + p.joined(separator: "; ")) }
    }
}

extension SAMConfig {
    /// A shape read during detection, with at least `rank` dimensions (a hostile file's tensors may have fewer).
    static func atLeast(_ rank: Int, _ shape: [Int], _ name: String, file: String) throws -> [Int] {
        guard shape.count >= rank else {
            throw ToolkitError(.mismatch, subject: file, "tensor '\(name)' has shape \(shape), expected at least \(rank) dimensions")
        }
        return shape
    }

    /// `a / b` for sizes read from shapes, 0 when `b` is not positive (`problems` then reports the size).
    static func ratio(_ a: Int, _ b: Int) -> Int { b > 0 ? a / b : 0 }
}
