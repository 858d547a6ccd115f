import ArgumentParser
import Foundation
import Formats
import Imaging
import SAM
import TensorCore

/// `ssmsam segment`: masks from point and box prompts, with the low-res logits and an overlay.
struct SegmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segment", abstract: "Segment an image from points and/or a box; write the mask PNG.",
        discussion: """
            Coordinates are pixels of the original image. A point is X,Y or X,Y,LABEL (1 foreground, the default; 0 background; \
            -1 padding, SAM's "not a point"); negative numbers are values, not options (--point -1,5,-1).

            Examples:
              ssmsam segment --model mobile_sam --image ct.png --point 300,240 --box 200,150,420,330 --out mask.png --overlay overlay.png
              ssmsam segment --model vit_b.pth --image ct.png --point 300,240 --point 250,200,0 --multimask --out mask.png --json
              ssmsam segment --model enc.onnx --decoder dec.onnx --image ct.png --box 200,150,420,330 --out mask.png
            """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var precision: PrecisionOption
    @Option(help: "The image (PNG or JPEG).") var image: String
    @Option(parsing: .unconditionalSingleValue, help: "A prompt point X,Y[,LABEL]; repeat for more.") var point: [String] = []
    @Option(parsing: .unconditional, help: "A box X0,Y0,X1,Y1 (top-left corner first).") var box: String?
    @Flag(help: "Return the three multimask outputs instead of one mask.") var multimask = false
    @Option(help: "Output mask PNG (the best mask by predicted IoU when --multimask).") var out: String
    @Option(help: "Also write the low-res logits (1 x K x 256 x 256) as .npy.") var logits: String?
    @Option(help: "Also write an overlay PNG: the mask tinted over the image, the points drawn.") var overlay: String?
    @Flag(help: "Print one JSON object (image size, every mask's predicted IoU, the chosen mask, its pixel count, the files written) instead of the lines.") var json = false

    func run() throws {
        try CLIErrors.report {
            guard !point.isEmpty || box != nil else { throw ValidationError("give at least one --point or a --box") }
            try OutputPaths.check([("--out", out), ("--logits", logits), ("--overlay", overlay)])
            let sam = try precision.apply(model.load())
            let picture = try ImageIO.read(URL(fileURLWithPath: image)).rgb()
            let (w, h) = (picture.width, picture.height)
            var points: [PromptPoint] = []
            for spec in point {
                let fields = spec.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                let v = fields.prefix(2).map { Float($0) }
                guard fields.count == 2 || fields.count == 3, v.allSatisfy({ $0?.isFinite == true }) else {
                    throw ValidationError("--point \(spec): expected X,Y or X,Y,LABEL with finite numbers")
                }
                let label = fields.count == 3 ? Int(fields[2]) : 1
                guard let label, (-1...1).contains(label) else { throw ValidationError("--point \(spec): label must be 1, 0 or -1") }
                points.append(PromptPoint(x: v[0]!, y: v[1]!, label: label))
            }
            var promptBox: PromptBox? = nil
            if let box {
                let v = box.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
                guard v.count == 4, v.allSatisfy(\.isFinite) else { throw ValidationError("--box \(box): expected X0,Y0,X1,Y1") }
                promptBox = PromptBox(x0: v[0], y0: v[1], x1: v[2], y1: v[3])
            }
            // Prompts are checked before the encoder runs, so a typo costs no encoding.
            try SAMPredictor.checkPrompts(points: points, box: promptBox, width: w, height: h, name: image)
            var predictor = SAMPredictor(model: sam)
            try ProgressBar.encoding("encoder") { try predictor.setImage(rgb: picture.pixels, width: w, height: h, name: image) }
            let prediction = try predictor.predict(points: points, box: promptBox, multimask: multimask)
            let (low, iou, best) = (prediction.lowResLogits, prediction.iou, prediction.best)
            let say: (String) -> Void = json ? { _ in } : { print($0) }
            for k in 0..<iou.count { say(String(format: "mask %d: predicted IoU %.4f", k, iou.data[k])) }
            let binary = prediction.mask(best).map { $0 ? UInt8(255) : 0 }
            let maskPixels = binary.filter { $0 > 0 }.count
            try ImageIO.writePNG(try Image8(width: w, height: h, channels: 1, pixels: binary), to: URL(fileURLWithPath: out))
            say("wrote \(out): mask \(best) (\(maskPixels) of \(w * h) pixels)")
            if let logits {
                try Numpy.write(StoredTensor(low), to: URL(fileURLWithPath: logits))
                say("wrote \(logits): low-res logits \(low.shape)")
            }
            if let overlay {
                let marks = points.map { (x: Int($0.x), y: Int($0.y)) }
                let drawn = try picture.highlighted(mask: binary, fill: .cyan, outline: .yellow)
                    .marked(points: marks, colour: .red, radius: max(3, max(w, h) / 150))
                try ImageIO.writePNG(drawn, to: URL(fileURLWithPath: overlay))
                say("wrote \(overlay)")
            }
            if json {
                var written: [String: Any] = ["mask": out]
                if let logits { written["logits"] = logits }
                if let overlay { written["overlay"] = overlay }
                try JSONOutput.print(["image": image, "width": w, "height": h, "precision": try precision.chosen().rawValue,
                                      "masks": (0..<iou.count).map { ["index": $0, "predicted_iou": Double(iou.data[$0])] },
                                      "best": best, "mask_pixels": maskPixels, "low_res_logits_shape": low.shape, "written": written])
            }
        }
    }
}
