import ArgumentParser
import Foundation
import Imaging
import MedicalData
import SAM

/// `ssmsam demo`: the built-in default model on a real CT slice, from one point inside an organ.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Segment an organ on a real CT slice from one point, write PNGs, print Dice and time.",
        discussion: """
        With no arguments: the MobileSAM model installed by scripts/setup, the shared abdominal CT \
        (../shared/data/abdomen-ct), the liver. The slice is the one where the organ is largest; the point \
        is the organ pixel farthest from its boundary (taken from the label map, which is otherwise only \
        used to score the prediction).
        """)

    @Option(help: "Model name or checkpoint.") var model = "mobile_sam"
    @Option(help: "CT volume (NIfTI).") var volume = "../shared/data/abdomen-ct/ct.nii.gz"
    @Option(help: "Its label map (NIfTI).") var labels = "../shared/data/abdomen-ct/labels.nii.gz"
    @Option(help: "Label-map preset (totalseg, synapse, chaos) or name=id,...") var preset = "totalseg"
    @Option(help: "Organ to segment.") var organ = "liver"
    @Option(help: "An image to segment instead of the CT (needs --point).") var image: String?
    @Option(help: "With --image: the prompt point X,Y.") var point: String?
    @Option(help: "Folder for the PNGs.") var outDir = "ssmsam-demo"
    @Option(help: "Nearest-neighbour zoom of the written PNGs.") var zoom = 4

    func run() throws {
        try CLIErrors.report {
            guard (1...16).contains(zoom) else { throw ValidationError("--zoom \(zoom): expected 1 to 16") }
            let start = Date()
            let (picture, truth, prompt, title) = try input()
            let t0 = Date()
            let sam = try SAMModelStore.load(model)
            let loadTime = Date().timeIntervalSince(t0)
            let rgb = picture.rgb()
            let (w, h) = (rgb.width, rgb.height)
            var predictor = SAMPredictor(model: sam)
            let t1 = Date()
            try predictor.setImage(rgb: rgb.pixels, width: w, height: h)
            let encodeTime = Date().timeIntervalSince(t1)
            let t2 = Date()
            let result = try predictor.predict(points: [PromptPoint(x: Float(prompt.x), y: Float(prompt.y))], multimask: true)
            let (iou, best) = (result.iou, result.best)
            let decodeTime = Date().timeIntervalSince(t2)
            let prediction = result.mask(best).map { $0 ? UInt8(1) : 0 }

            let dir = URL(fileURLWithPath: outDir)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let mask = try Image8(width: w, height: h, channels: 1, pixels: prediction.map { $0 * 255 })
            let overlay = try rgb.tinted(mask: prediction, colour: .cyan, alpha: 0.45)
                .contoured(mask: prediction, colour: .yellow).marked(points: [prompt], colour: .red, radius: 1)
            var panels = [rgb, overlay]
            if let truth { panels.append(try rgb.tinted(mask: truth, colour: .orange, alpha: 0.45).contoured(mask: truth, colour: .orange)) }
            try ImageIO.writePNG(mask.zoomed(zoom), to: dir.appendingPathComponent("mask.png"))
            try ImageIO.writePNG(overlay.zoomed(zoom), to: dir.appendingPathComponent("overlay.png"))
            try ImageIO.writePNG(Image8.sideBySide(panels.map { $0.zoomed(zoom) }, gap: 6), to: dir.appendingPathComponent("side_by_side.png"))

            print("\(title)")
            print("model \(model): \(sam.config.preset ?? "custom") encoder, input \(sam.imageEncoder.inputSize) px")
            print("point (\(prompt.x), \(prompt.y)); SAM's pick: mask \(best) of \(iou.count), the highest predicted IoU")
            for k in 0..<iou.count {
                let candidate = result.mask(k).map { $0 ? UInt8(1) : 0 }
                let dice = try truth.map { try Dice.of(prediction: candidate, truth: $0) }
                print(String(format: "  mask %d: predicted IoU %.3f, %5d pixels", k, iou.data[k], candidate.reduce(0) { $0 + Int($1) })
                      + (dice.map { String(format: ", Dice %.4f", $0) } ?? "") + (k == best ? "  <- written" : ""))
            }
            if let truth { print(String(format: "Dice against the label: %.4f", try Dice.of(prediction: prediction, truth: truth))) }
            print(String(format: "time: load %.2f s, encoder %.2f s, prompt + decoder %.3f s, total %.2f s",
                         loadTime, encodeTime, decodeTime, Date().timeIntervalSince(start)))
            print("wrote \(dir.path)/mask.png, overlay.png, side_by_side.png (image | prediction\(truth == nil ? "" : " | label"))")
        }
    }

    /// The picture, the ground truth (CT only), the prompt point and a title line.
    private func input() throws -> (Image8, [UInt8]?, (x: Int, y: Int), String) {
        if let image {
            guard let point else { throw ValidationError("--image needs --point X,Y") }
            let v = point.split(separator: ",").compactMap { Int($0) }
            guard v.count == 2 else { throw ValidationError("--point \(point): expected X,Y") }
            let picture = try ImageIO.read(URL(fileURLWithPath: image))
            guard v[0] >= 0, v[1] >= 0, v[0] < picture.width, v[1] < picture.height else {
                throw ValidationError("--point \(point) is outside the \(picture.width) x \(picture.height) image")
            }
            return (picture, nil, (v[0], v[1]), "image \(image)")
        }
        guard FileManager.default.fileExists(atPath: volume) else {
            throw ValidationError("no CT volume at \(volume): run from the repository root beside ../shared, or give --volume / --image")
        }
        let ct = try NIfTIReader.readVolume(URL(fileURLWithPath: volume))
        let map = try LabelMap.named(preset)
        let labelVolume = try NIfTIReader.readLabels(URL(fileURLWithPath: labels), matching: ct)
        guard let id = map.organs[organ] else {
            throw ValidationError("unknown organ '\(organ)' in label map \(map.name) (known: \(map.organs.keys.sorted().joined(separator: ", ")))")
        }
        let (w, h) = (ct.dims[0], ct.dims[1])
        let areas = labelVolume.slicesContaining(id).map { k in (k, labelVolume.mask(slice: k, label: id).reduce(0) { $0 + Int($1) }) }
        guard let k = areas.max(by: { $0.1 < $1.1 })?.0 else {
            throw ValidationError("the label map has no \(organ) (label \(id))")
        }
        let picture = try SliceRenderer.grey(ct, slice: k, preset: .ct)
        let truth = SliceRenderer.display(labelVolume.mask(slice: k, label: id), width: w, height: h)
        return (picture, truth, MaskGeometry.deepestPoint(truth, width: w, height: h),
                "CT \(volume), axial slice \(k) of \(ct.sliceCount) (largest \(organ) area), \(w) x \(h) px")
    }
}

/// Small geometry on binary masks.
enum MaskGeometry {
    /// The mask pixel farthest (city-block distance) from any pixel outside the mask: a point surely inside.
    static func deepestPoint(_ mask: [UInt8], width: Int, height: Int) -> (x: Int, y: Int) {
        var dist = mask.map { $0 != 0 ? Int.max : 0 }
        var queue = (0..<mask.count).filter { dist[$0] == 0 }
        var head = 0
        while head < queue.count {
            let i = queue[head]; head += 1
            let (x, y) = (i % width, i / width)
            for (dx, dy) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
                let nx = x + dx, ny = y + dy
                guard nx >= 0, ny >= 0, nx < width, ny < height else { continue }
                let j = ny * width + nx
                if dist[j] == Int.max { dist[j] = dist[i] + 1; queue.append(j) }
            }
        }
        // Pixels on the image border count as next to the outside.
        let best = (0..<mask.count).filter { mask[$0] != 0 }.max { a, b in
            func d(_ i: Int) -> Int { min(dist[i], i % width + 1, width - i % width, i / width + 1, height - i / width) }
            return d(a) < d(b)
        } ?? 0
        return (best % width, best / width)
    }
}
