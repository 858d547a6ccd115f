import ArgumentParser
import Foundation
import Imaging
import MedicalData

/// `ssmsam data render`: one axial slice as a PNG with label tints/contours and an optional prediction.
struct DataRenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render an axial slice to an 8-bit PNG with label (and prediction) overlays.",
        discussion: """
            Radiological view: the patient's right on the image's left, anterior at the top.

            Example:
              ssmsam data render ct.nii.gz --slice 60 --labels labels.nii.gz --organs liver,spleen -o slice60.png
            """)

    @Argument(help: "The image volume: a NIfTI file (.nii or .nii.gz) or a folder of DICOM slices.")
    var volume: String

    @Option(name: .long, help: "Axial slice index (canonical order, 0 = most inferior).")
    var slice: Int

    @Option(name: .long, help: "A label map on the same grid: its organs are tinted and contoured.")
    var labels: String?

    @Option(name: .long, help: "A prediction on the same grid, contoured in white: a binary mask, or a label map (then only the drawn organs).")
    var prediction: String?

    @Option(name: .long, help: "Organs to draw, comma-separated (default: all organs of the label map).")
    var organs: String?

    @Option(name: .long, help: "Intensity preset: ct, mri, window:LO:HI or percentile:P.")
    var intensity: String = "ct"

    @OptionGroup var labelMapOption: LabelMapOption

    @Option(name: .shortAndLong, help: "Output PNG.")
    var output: String

    func run() throws {
        try CLIErrors.report {
            let preset = try IntensityPreset(parsing: intensity)
            let map = try labelMapOption.labelMap()
            let names = organs.map { $0.split(separator: ",").map { LabelMap.normalise(String($0)) } } ?? map.organNames
            let ids = try names.map { try map.id(of: $0) }
            let v = try VolumeReader.read(URL(fileURLWithPath: volume))
            _ = try v.slice(slice)
            var overlays: [SliceRenderer.Overlay] = []
            if let labels {
                let l = try NIfTIReader.readLabels(URL(fileURLWithPath: labels), matching: v)
                for (i, (name, id)) in zip(names, ids).enumerated() {
                    let m = l.mask(slice: slice, label: id)
                    let c = OrganColours.colour(name, index: i)
                    overlays.append(.init(mask: m, colour: c, style: .tint(alpha: 0.35)))
                    overlays.append(.init(mask: m, colour: c, style: .contour(thickness: 1)))
                }
            }
            if let prediction {
                let p = try NIfTIReader.readLabels(URL(fileURLWithPath: prediction), matching: v)
                let n = v.dims[0] * v.dims[1]
                // A binary prediction is drawn as is; a label map only for the organs drawn.
                let binary = p.presentLabels.allSatisfy { $0 == 0 || $0 == 1 }
                let wanted = Set(ids)
                let m = p.labels[(slice * n)..<((slice + 1) * n)].map {
                    (binary ? $0 != 0 : wanted.contains($0)) ? UInt8(1) : 0
                }
                overlays.append(.init(mask: m, colour: .white, style: .contour(thickness: 1)))
            }
            let image = try SliceRenderer.render(v, slice: slice, preset: preset, overlays: overlays)
            try PNGCodec.write(image, to: URL(fileURLWithPath: output))
            print("wrote \(output): slice \(slice) of \(v.dims[2]), \(image.width)x\(image.height)"
                  + (labels == nil ? "" : ", organs \(names.joined(separator: ", "))"))
        }
    }
}
