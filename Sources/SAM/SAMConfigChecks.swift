import Diagnostics

extension SAMConfig {
    /// What keeps this architecture from being built and run (empty when it can be): sizes that must be
    /// positive, widths that must split into heads, an image size the encoder's stride divides. The model
    /// constructors state these as preconditions, and the tensor kernels' own shape checks are compiled out
    /// of release builds, so configurations that come from files (a JSON config, a zoo manifest, shapes
    /// read from a checkpoint) are checked here first.
    public var problems: [String] {
        var p: [String] = []
        func need(_ ok: Bool, _ what: @autoclosure () -> String) { if !ok { p.append(what()) } }
        let e = encoder, d = decoder
        need(e.patchSize > 0 && e.imageSize > 0 && e.imageSize % e.patchSize == 0,
             "encoder.imageSize \(e.imageSize) must be a positive multiple of encoder.patchSize \(e.patchSize)")
        need(e.outChannels > 0, "encoder.outChannels is \(e.outChannels), expected a positive size")
        switch kind {
        case .vit:
            need(e.depth > 0, "encoder.depth is \(e.depth), expected at least 1 block")
            need(e.heads > 0 && e.embedDim > 0 && e.embedDim % e.heads == 0,
                 "encoder.embedDim \(e.embedDim) must split into encoder.heads \(e.heads)")
            need(e.mlpDim > 0, "encoder.mlpDim is \(e.mlpDim), expected a positive size")
            need(e.windowSize > 0, "encoder.windowSize is \(e.windowSize), expected a positive size")
            need(e.globalAttentionBlocks.allSatisfy { (0..<max(e.depth, 0)).contains($0) },
                 "encoder.globalAttentionBlocks \(e.globalAttentionBlocks) must be blocks 0..<\(e.depth)")
        case .tinyViT:
            let t = tinyViT ?? TinyViTEncoder()
            need(e.patchSize == 16, "a TinyViT encoder has stride 16, encoder.patchSize is \(e.patchSize)")
            guard [t.embedDims.count, t.depths.count, t.heads.count, t.windowSizes.count] == [4, 4, 4, 4] else {
                p.append("tinyViT needs 4 stages, got embedDims \(t.embedDims), depths \(t.depths), heads \(t.heads), windowSizes \(t.windowSizes)")
                break
            }
            need(t.depths.allSatisfy { $0 > 0 }, "tinyViT.depths \(t.depths) must be positive")
            need(t.embedDims[0] > 0 && t.embedDims[0] % 2 == 0, "tinyViT.embedDims[0] is \(t.embedDims[0]), expected a positive even width")
            for s in 1..<4 {
                need(t.heads[s] > 0 && t.embedDims[s] > 0 && t.embedDims[s] % t.heads[s] == 0,
                     "tinyViT.embedDims[\(s)] \(t.embedDims[s]) must split into tinyViT.heads[\(s)] \(t.heads[s])")
                need(t.windowSizes[s] > 0, "tinyViT.windowSizes[\(s)] is \(t.windowSizes[s]), expected a positive size")
            }
            need(t.mlpRatio > 0 && t.mbconvExpandRatio > 0,
                 "tinyViT.mlpRatio \(t.mlpRatio) and mbconvExpandRatio \(t.mbconvExpandRatio) must be positive")
            need(t.localConvSize > 0 && t.localConvSize % 2 == 1, "tinyViT.localConvSize is \(t.localConvSize), expected a positive odd size")
        }
        need(d.promptDim > 0 && d.promptDim % 8 == 0, "decoder.promptDim is \(d.promptDim), expected a positive multiple of 8")
        need(d.maskInChannels > 0 && d.maskInChannels % 4 == 0, "decoder.maskInChannels is \(d.maskInChannels), expected a positive multiple of 4")
        need(d.heads > 0 && d.promptDim % d.heads == 0, "decoder.promptDim \(d.promptDim) must split into decoder.heads \(d.heads)")
        need(d.attentionDownsample > 0 && d.promptDim % d.attentionDownsample == 0 && d.heads > 0
                && (d.promptDim / d.attentionDownsample) % d.heads == 0,
             "decoder.promptDim \(d.promptDim) / attentionDownsample \(d.attentionDownsample) must split into decoder.heads \(d.heads)")
        need(d.transformerDepth > 0 && d.mlpDim > 0 && d.multimaskOutputs > 0 && d.iouHeadDepth > 0 && d.iouHeadHidden > 0,
             "decoder transformerDepth \(d.transformerDepth), mlpDim \(d.mlpDim), multimaskOutputs \(d.multimaskOutputs), "
                + "iouHeadDepth \(d.iouHeadDepth), iouHeadHidden \(d.iouHeadHidden) must all be positive")
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
