import Diagnostics
import NN
import SAM
import TensorCore

/// The toolkit's side of an SSM-SAM parity bundle (recorded with the PyTorch twin by
/// `scripts/record_reference.py`): the support, its mask and the query through the toolkit's SSM-SAM, every
/// stage the twin recorded, each computed from the toolkit's own earlier stages. The prompt points are the
/// bundle's (picked by the twin from the support mask), since the picker is not part of the parity contract.
public enum SSMSAMParityStages {
    /// The stage names of an SSM-SAM bundle, in pipeline order (L = 0...3, the four levels).
    public static let names = ["support.image", "support.mask", "query.image", "preprocess.support", "preprocess.query",
                               "preprocess.support_mask", "highpass.query"]
        + ["query", "support"].flatMap { side in (0..<4).map { "levels.\(side).\($0)" } }
        + ["sampler", "fmad.prior"] + (0..<4).map { "fmad.level.\($0)" }
        + ["fmad.logits64", "fmad.logits256", "postprocess.mask"]

    /// An 8-bit RGB image (height x width x 3, row-major) as the caller decoded it.
    public typealias Image = (rgb: [UInt8], width: Int, height: Int)

    /// The outputs of `model` for the stages of `bundle` (an `.ssmsam` bundle), from the support image, its
    /// mask (row-major, the support's size, true inside) and the query image. Throws for a stage the toolkit
    /// does not compute, a malformed point list, or a mask of another size.
    public static func outputs(model: SSMSAMModel, bundle: ParityBundle, support: Image, supportMask: [Bool],
                               query: Image) throws -> [String: Tensor] {
        let manifestPath = bundle.directory.appendingPathComponent("manifest.json").path
        guard bundle.manifest.kind == .ssmsam else {
            throw ToolkitError(.mismatch, subject: manifestPath, "a \(bundle.manifest.kind.rawValue) bundle, not an SSM-SAM one")
        }
        for stage in bundle.manifest.stages.map(\.name) where !names.contains(stage) {
            throw ToolkitError(.unsupported, subject: manifestPath,
                               "stage \(stage) is not one the toolkit computes for SSM-SAM (known: \(names.joined(separator: ", ")))")
        }
        guard let framePoints = bundle.manifest.points?.points, !framePoints.isEmpty else {
            throw ToolkitError(.invalidFile, subject: manifestPath, "an SSM-SAM bundle needs its prompt points (points.points)")
        }
        let points = try framePoints.map { p -> SamplerPoint in
            guard p.count == 3 else { throw ToolkitError(.invalidFile, subject: manifestPath, "point \(p): expected [x, y, label]") }
            return SamplerPoint(x: p[0], y: p[1], positive: p[2] > 0.5)
        }
        let predictor = SSMSAMPredictor(model: model)
        var out: [String: Tensor] = [:]
        out["support.image"] = Tensor(shape: [support.height, support.width, 3], data: support.rgb.map(Float.init))
        out["support.mask"] = Tensor(shape: [support.height, support.width], data: supportMask.map { $0 ? 1 : 0 })
        out["query.image"] = Tensor(shape: [query.height, query.width, 3], data: query.rgb.map(Float.init))
        let s = try predictor.input(rgb: support.rgb, width: support.width, height: support.height)
        let q = try predictor.input(rgb: query.rgb, width: query.width, height: query.height)
        let mask = try predictor.frameMask(supportMask, width: support.width, height: support.height, name: "support mask")
        (out["preprocess.support"], out["preprocess.query"], out["preprocess.support_mask"]) = (s.input, q.input, mask)
        try Variable.noGrad {
            let highPass = model.adapter != nil ? q.input.highPassFiltered() : nil
            if let highPass { out["highpass.query"] = highPass }
            var ql = model.adapter != nil ? model.featureLevels(q.input, highPass: highPass) : try predictor.levels(q.input)
            let sl = try predictor.levels(s.input)
            for l in 0..<4 { (out["levels.query.\(l)"], out["levels.support.\(l)"]) = (ql[l].value, sl[l].value) }
            ql[0] = model.sampler(ql[0], points: points)
            out["sampler"] = ql[0].value
            let prior = SupportMaskPrior.make(mask: mask, grid: model.grid, sigma: model.config.maskSigma)
            let expanded = SupportMaskPrior.expanded(prior, channels: model.config.channels)
            out["fmad.prior"] = expanded.reshaped([1] + expanded.shape)
            // FMAD's steps one by one (FMAD.callAsFunction runs the same), to record each level's output.
            let column = Variable(prior.reshaped([prior.count, 1]))
            let ys = (0..<4).map { model.fmad.levels[$0](query: ql[$0], support: sl[$0], prior: column) }
            for (l, y) in ys.enumerated() { out["fmad.level.\(l)"] = y.value }
            let fused = model.fmad.fuse(ys)
            out["fmad.logits64"] = fused.value
            let g = fused.shape[2]
            let low = fused.resizeBilinear(height: 4 * g, width: 4 * g).value
            out["fmad.logits256"] = low
            out["postprocess.mask"] = SAMPostprocessing.masks(low, modelSize: predictor.preprocessing.modelSize, inputSize: q.resized,
                                                             originalSize: (query.height, query.width))
        }
        return out
    }
}
