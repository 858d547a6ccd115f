import ArgumentParser
import FileIO
import Formats
import Foundation
import Imaging
import SSMSAM
import TensorCore

/// `ssmsam ssm predict`: one query slice segmented from one labelled support slice.
struct SSMPredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict", abstract: "Segment a query image from one support image and its mask (1-shot); write the mask PNG.",
        discussion: """
            The prompt points come from the support mask; the query's own label is never used.

            Example:
              ssmsam ssm predict --model M.safetensors --support slice40.png --support-mask liver40.png --query slice44.png --out mask44.png
            """)

    @Option(help: "The SSM-SAM model (.safetensors or .pth with its .json).") var model: String
    @Option(help: "The support image (PNG or JPEG).") var support: String
    @Option(help: "The support's mask (PNG, same size; pixels > 127 are inside).") var supportMask: String
    @Option(help: "The query image (PNG or JPEG).") var query: String
    @Option(help: "Output mask PNG, the query's size.") var out: String
    @Option(help: "Also write an overlay PNG of the mask over the query.") var overlay: String?
    @Option(help: "Seed of the support-mask point picker.") var seed: UInt64 = 0
    @Option(help: "Also write the query's mask logits at its size (1 x 1 x H x W) as .npy.") var logits: String?
    @Option(help: "Also write the prompt points picked from the support mask as JSON: [{\"x\", \"y\", \"positive\"}] in the model's input frame.")
    var pointsOut: String?

    func run() throws {
        try CLIErrors.report {
            try OutputPaths.check([("--out", out), ("--logits", logits), ("--overlay", overlay), ("--points-out", pointsOut)])
            let m = try SSMSAMStore.load(URL(fileURLWithPath: model))
            let s = try ImageIO.read(URL(fileURLWithPath: support)).rgb(), q = try ImageIO.read(URL(fileURLWithPath: query)).rgb()
            let maskFile = try BinaryMaskFile(supportMask)
            guard maskFile.width == s.width && maskFile.height == s.height else {
                throw ValidationError("--support-mask is \(maskFile.width) x \(maskFile.height), the support image \(s.width) x \(s.height)")
            }
            let mask = maskFile.mask
            var predictor = SSMSAMPredictor(model: m)
            predictor.pointSeed = seed
            let t0 = Date()
            let r = try predictor.predict(support: (s.pixels, s.width, s.height), supportMask: mask, query: (q.pixels, q.width, q.height))
            let binary = r.logits.data.map { $0 > 0 ? UInt8(255) : 0 }
            try ImageIO.writePNG(try Image8(width: q.width, height: q.height, channels: 1, pixels: binary), to: URL(fileURLWithPath: out))
            print(String(format: "wrote %@: %d of %d pixels, %d support points, %.2f s", out, binary.filter { $0 > 0 }.count,
                         binary.count, r.points.count, Date().timeIntervalSince(t0)))
            if let logits {
                try Numpy.write(StoredTensor(r.logits), to: URL(fileURLWithPath: logits))
                print("wrote \(logits): mask logits \(r.logits.shape)")
            }
            if let pointsOut {
                let e = JSONEncoder()
                e.outputFormatting = [.prettyPrinted, .sortedKeys]
                try AtomicFile.write(try e.encode(r.points), to: URL(fileURLWithPath: pointsOut))
                print("wrote \(pointsOut): \(r.points.count) points")
            }
            if let overlay {
                let drawn = try q.highlighted(mask: binary, fill: .cyan, outline: .yellow)
                try ImageIO.writePNG(drawn, to: URL(fileURLWithPath: overlay))
                print("wrote \(overlay)")
            }
        }
    }
}
