import ArgumentParser
import Diagnostics
import Foundation
import Formats
import Imaging
import SAM
import TensorCore

/// `ssmsam segment`: masks from point and box prompts, with the low-res logits and an overlay.
struct SegmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segment", abstract: "Segment an image from points and/or a box; write the mask PNG.",
        discussion: "Coordinates are pixels of the original image. A point is X,Y or X,Y,LABEL (1 foreground, the default; 0 background).")

    @OptionGroup var model: ModelOptions
    @Option(help: "The image (PNG or JPEG).") var image: String
    @Option(help: "A prompt point X,Y[,LABEL]; repeat for more.") var point: [String] = []
    @Option(help: "A box X0,Y0,X1,Y1.") var box: String?
    @Flag(help: "Return the three multimask outputs instead of one mask.") var multimask = false
    @Option(help: "Output mask PNG (the best mask by predicted IoU when --multimask).") var out: String
    @Option(help: "Also write the low-res logits (1 x K x 256 x 256) as .npy.") var logits: String?
    @Option(help: "Also write an overlay PNG: the mask tinted over the image, the points drawn.") var overlay: String?

    func run() throws {
        try CLIErrors.report {
            guard !point.isEmpty || box != nil else { throw ValidationError("give at least one --point or a --box") }
            let sam = try model.load()
            let img = try SAMImageInput(path: image, model: sam)
            let (w, h) = (img.image.width, img.image.height)
            func inside(_ x: Float, _ y: Float, _ what: String) throws {
                guard x >= 0, y >= 0, x < Float(w), y < Float(h) else {
                    throw ToolkitError(.invalidArgument, subject: image, "\(what) (\(x), \(y)) is outside the \(w) x \(h) image")
                }
            }
            var points: [PromptPoint] = []
            var original: [(x: Int, y: Int)] = []
            for spec in point {
                let fields = spec.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                let v = fields.prefix(2).map { Float($0) }
                guard fields.count == 2 || fields.count == 3, v.allSatisfy({ $0?.isFinite == true }) else {
                    throw ValidationError("--point \(spec): expected X,Y or X,Y,LABEL with finite numbers")
                }
                let label = fields.count == 3 ? Int(fields[2]) : 1
                guard label == 0 || label == 1 else { throw ValidationError("--point \(spec): label must be 1 or 0") }
                let label01 = label!
                try inside(v[0]!, v[1]!, "point")
                points.append(img.preprocessing.transform(PromptPoint(x: v[0]!, y: v[1]!, label: label01),
                                                          originalHeight: h, originalWidth: w))
                original.append((Int(v[0]!), Int(v[1]!)))
            }
            var promptBox: PromptBox? = nil
            if let box {
                let v = box.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
                guard v.count == 4, v.allSatisfy(\.isFinite) else { throw ValidationError("--box \(box): expected X0,Y0,X1,Y1") }
                try inside(v[0], v[1], "box corner"); try inside(v[2], v[3], "box corner")
                promptBox = img.preprocessing.transform(PromptBox(x0: v[0], y0: v[1], x1: v[2], y1: v[3]),
                                                        originalHeight: h, originalWidth: w)
            }
            let embedding = sam.encode(img.input).embedding
            let (low, iou) = sam.predict(embedding: embedding, points: points, box: promptBox, multimask: multimask)
            for k in 0..<iou.count { print(String(format: "mask %d: predicted IoU %.4f", k, iou.data[k])) }
            let best = SAMPostprocessing.bestMaskIndex(iou)
            let masks = SAMPostprocessing.masks(low, modelSize: sam.imageEncoder.inputSize,
                                                inputSize: img.resized, originalSize: (h, w))
            let plane = masks.narrow(axis: 1, start: best, length: 1)
            let binary = plane.data.map { $0 > 0 ? UInt8(255) : 0 }
            try ImageIO.writePNG(try Image8(width: w, height: h, channels: 1, pixels: binary), to: URL(fileURLWithPath: out))
            print("wrote \(out): mask \(best) (\(binary.filter { $0 > 0 }.count) of \(w * h) pixels)")
            if let logits {
                try Numpy.write(StoredTensor(low), to: URL(fileURLWithPath: logits))
                print("wrote \(logits): low-res logits \(low.shape)")
            }
            if let overlay {
                var picture = try img.image.tinted(mask: binary, colour: .cyan, alpha: 0.45)
                picture = try picture.contoured(mask: binary, colour: .yellow)
                picture = picture.marked(points: original, colour: .red, radius: max(3, max(w, h) / 150))
                try ImageIO.writePNG(picture, to: URL(fileURLWithPath: overlay))
                print("wrote \(overlay)")
            }
        }
    }
}
