import ArgumentParser
import FewShot
import Foundation
import Imaging
import SAM
import SSMSAM
import TensorCore

/// `ssmsam adapt`: one labelled slice in, predictions for the given slices out: SSM-SAM adapted online to the
/// support, then run on every query.
struct AdaptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adapt", abstract: "Adapt SSM-SAM to one labelled slice, then segment the given slices (PNG masks and overlays).",
        discussion: """
            The online optimiser takes the model's learned inner rates (a meta-trained model or run folder); a \
            model without them is fine-tuned with AdamW (--steps, --learning-rate). The query images' labels are \
            never read. Writes DIR/<query name>_mask.png and DIR/<query name>_overlay.png.

            Example:
              ssmsam adapt --model RUN --support slice40.png --support-mask liver40.png --query slice44.png slice48.png --out adapted
            """)

    @Option(help: "The SSM-SAM model: a meta-train run folder, a model file, or zoo:ID[@VERSION].") var model: String
    @Option(help: "The support image (PNG or JPEG).") var support: String
    @Option(help: "The support's mask (PNG, same size; pixels > 127 are inside).") var supportMask: String
    @Option(parsing: .upToNextOption, help: "The images to segment.") var query: [String]
    @Option(help: "Steps of AdamW fine-tuning when the model has no learned rates.") var steps = 5
    @Option(help: "Its learning rate (a few steps: larger than the meta-learner's outer 2e-4).") var learningRate: Float = 1e-3
    @Flag(help: "Fine-tune with AdamW even when the model has learned rates (the 'w/o MAML++' way).") var fineTune = false
    @Option(help: "Seed of the support-mask point picker.") var seed: UInt64 = 0
    @Option(help: "The output folder (created when missing).") var out: String

    func run() throws {
        try CLIErrors.report {
            guard !query.isEmpty else { throw ValidationError("give at least one --query image") }
            let source = try ZooModels.ssm(model)
            let (m, rates) = (source.model, source.rates)
            let adaptation: SupportAdaptation = try (rates == nil || fineTune)
                ? FineTuner(model: m, steps: steps, learningRate: learningRate) : OnlineOptimiser(model: m, rates: rates!)
            let pre = SAMPreprocessing(modelSize: m.config.base.encoder.imageSize)
            let s = try ImageIO.read(URL(fileURLWithPath: support)).rgb()
            let maskFile = try BinaryMaskFile(supportMask)
            guard maskFile.width == s.width && maskFile.height == s.height else {
                throw ValidationError("--support-mask is \(maskFile.width) x \(maskFile.height), the support image \(s.width) x \(s.height)")
            }
            let queries = try query.map { try ImageIO.read(URL(fileURLWithPath: $0)).rgb() }
            let dir = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let t0 = Date()
            let result = try ImageOneShot(model: m, adaptation: adaptation).run(
                support: .init(pixels: s.pixels, width: s.width, height: s.height), mask: maskFile.mask,
                queries: queries.map { .init(pixels: $0.pixels, width: $0.width, height: $0.height) }, pointSeed: seed)
            let (logits, seconds) = (result.logits, result.adaptationSeconds)
            print(String(format: "adapted on %@ (%@, %d steps) in %.1f s", support, rates == nil || fineTune ? "AdamW fine-tuning" : "learned rates",
                         rates.map { fineTune ? steps : $0.steps } ?? steps, seconds ?? 0))
            for (i, low) in logits.enumerated() {
                let q = queries[i]
                let full = SAMPostprocessing.masks(low, modelSize: pre.modelSize, inputSize: result.resized[i], originalSize: (q.height, q.width))
                let binary = full.data.map { $0 > 0 ? UInt8(255) : 0 }
                let stem = URL(fileURLWithPath: query[i]).deletingPathExtension().lastPathComponent
                let maskURL = dir.appendingPathComponent("\(stem)_mask.png"), overlayURL = dir.appendingPathComponent("\(stem)_overlay.png")
                try ImageIO.writePNG(try Image8(width: q.width, height: q.height, channels: 1, pixels: binary), to: maskURL)
                try ImageIO.writePNG(try q.highlighted(mask: binary, fill: .cyan, outline: .yellow), to: overlayURL)
                print("wrote \(maskURL.path) (\(binary.filter { $0 > 0 }.count) of \(binary.count) pixels) and \(overlayURL.lastPathComponent)")
            }
            print(String(format: "total %.1f s", Date().timeIntervalSince(t0)))
        }
    }
}
