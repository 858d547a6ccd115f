import ArgumentParser
import Foundation
import Formats
import Imaging
import SAM
import SSMSAM
import TensorCore

/// `ssmsam ssm baseline`: the zero-shot baselines SSM-SAM must beat, plain SAM on the query prompted from
/// the support mask.
struct SSMBaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline", abstract: "Zero-shot SAM on a query image, prompted from a support mask only; write the mask PNG.",
        discussion: """
            --prompt point: one positive point at the support mask's deepest interior point (multimask, best \
            predicted IoU); box: the support mask's bounding box; mask: the support mask as SAM's mask prompt. \
            The query's own label is never used. A support mask of another size is resampled to the query's.

            Example:
              ssmsam ssm baseline --model mobile_sam --prompt box --support-mask liver40.png --query slice44.png --out box44.png
            """)

    @OptionGroup var model: ModelOptions
    @Option(help: "point, box or mask.") var prompt: String
    @Option(help: "The support's mask (PNG; pixels > 127 are inside).") var supportMask: String
    @Option(help: "The query image (PNG or JPEG).") var query: String
    @Option(help: "Output mask PNG, the query's size.") var out: String
    @Option(help: "Also write the query's mask logits at its size (1 x 1 x H x W) as .npy.") var logits: String?
    @Option(help: "Also write an overlay PNG of the mask and the prompt over the query.") var overlay: String?

    func run() throws {
        try CLIErrors.report {
            try OutputPaths.check([("--out", out), ("--logits", logits), ("--overlay", overlay)])
            guard let kind = ZeroShotPrompt(rawValue: prompt) else {
                throw ValidationError("--prompt \(prompt): expected one of \(ZeroShotPrompt.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let mask = try BinaryMaskFile(supportMask)
            let q = try ImageIO.read(URL(fileURLWithPath: query)).rgb()
            var predictor = SAMPredictor(model: try model.load())
            let t0 = Date()
            try predictor.setImage(rgb: q.pixels, width: q.width, height: q.height, name: query)
            let (low, prompts) = try ZeroShotBaseline(kind).predict(predictor, supportMask: mask.mask,
                                                                    supportWidth: mask.width, supportHeight: mask.height)
            let binary = low.data.map { $0 > 0 ? UInt8(255) : 0 }
            try ImageIO.writePNG(try Image8(width: q.width, height: q.height, channels: 1, pixels: binary), to: URL(fileURLWithPath: out))
            let what = prompts.points.first.map { "point (\(Int($0.x)), \(Int($0.y)))" }
                ?? prompts.box.map { "box (\(Int($0.x0)), \(Int($0.y0)), \(Int($0.x1)), \(Int($0.y1)))" } ?? "mask prompt"
            print(String(format: "wrote %@: %d of %d pixels, prompted by the support's %@, %.2f s", out, binary.filter { $0 > 0 }.count,
                         binary.count, what, Date().timeIntervalSince(t0)))
            if let logits {
                try Numpy.write(StoredTensor(low), to: URL(fileURLWithPath: logits))
                print("wrote \(logits): mask logits \(low.shape)")
            }
            if let overlay {
                var drawn = try q.highlighted(mask: binary, fill: .cyan, outline: .yellow)
                if !prompts.points.isEmpty {
                    drawn = drawn.marked(points: prompts.points.map { (x: Int($0.x), y: Int($0.y)) }, colour: .red,
                                             radius: max(3, max(q.width, q.height) / 150))
                }
                try ImageIO.writePNG(drawn, to: URL(fileURLWithPath: overlay))
                print("wrote \(overlay)")
            }
        }
    }
}
