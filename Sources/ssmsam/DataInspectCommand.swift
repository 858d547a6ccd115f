import ArgumentParser
import Foundation
import MedicalData

/// `ssmsam data inspect`: a volume's grid, orientation, intensities and, with labels, per-organ facts.
struct DataInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print dims, spacing, orientation, intensity range and per-organ voxel counts and slice ranges.",
        discussion: """
            Slice indices are in the canonical RAS+ order (slice 0 is the most inferior).

            Example:
              ssmsam data inspect ct.nii.gz --labels labels.nii.gz --json
            """)

    @Argument(help: "The image volume: a NIfTI file (.nii or .nii.gz) or a folder of DICOM slices.")
    var volume: String

    @Option(name: .long, help: "A label map on the same grid.")
    var labels: String?

    @OptionGroup var labelMapOption: LabelMapOption

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func run() throws {
        try CLIErrors.report {
            let v = try VolumeReader.read(URL(fileURLWithPath: volume))
            let map = try labelMapOption.labelMap()
            var organs: [(name: String, voxels: Int, range: ClosedRange<Int>?, count: Int)] = []
            if let labels {
                let l = try NIfTIReader.readLabels(URL(fileURLWithPath: labels), matching: v)
                for name in map.organNames {
                    let id = try map.id(of: name)
                    let slices = l.slicesContaining(id)
                    organs.append((name, l.voxelCount(id), slices.isEmpty ? nil : slices.first!...slices.last!, slices.count))
                }
            }
            let range = v.intensityRange
            if json {
                let organJSON = Dictionary(uniqueKeysWithValues: organs.map { o in
                    (o.name, ["voxels": o.voxels, "slices": o.range.map { [$0.lowerBound, $0.upperBound] as Any } ?? NSNull()] as [String: Any])
                })
                try JSONOutput.print(["shape": v.dims, "spacing": v.spacing, "orientation": "\(v.orientation)",
                                      "source_orientation": "\(v.sourceOrientation)", "intensity": [range.min, range.max],
                                      "organs": organJSON], pretty: false)
                return
            }
            print("volume:       \(volume)")
            print("shape:        \(v.dims.map(String.init).joined(separator: " x "))")
            print("spacing (mm): \(v.spacing.map { String(format: "%.4g", $0) }.joined(separator: " x "))")
            print("orientation:  \(v.orientation) (stored as \(v.sourceOrientation))")
            print("intensity:    \(range.min) ... \(range.max)")
            if labels != nil {
                print("organs (\(map.name) label map; slices in canonical order, 0 = most inferior):")
                for o in organs {
                    let id = try map.id(of: o.name)
                    let slices = o.range.map { "slices \($0.lowerBound)-\($0.upperBound) (\(o.count) slices)" } ?? "absent"
                    print("  \(o.name.padding(toLength: 13, withPad: " ", startingAt: 0)) id \(id)  \(String(o.voxels).leftPad(8)) voxels  \(slices)")
                }
            }
        }
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
