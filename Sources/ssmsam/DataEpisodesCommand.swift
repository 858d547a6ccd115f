import ArgumentParser
import Diagnostics
import Foundation
import MedicalData

/// `ssmsam data episodes`: the chunks of a test organ's slice range, their supports and queries.
struct DataEpisodesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "episodes", abstract: "List the 1-shot chunks of an organ: slices, support slice, query slices.",
        discussion: """
            Example:
              ssmsam data episodes ct.nii.gz --labels labels.nii.gz --organ liver --chunks 3
            """)

    @Argument(help: "The test image volume: a NIfTI file (.nii or .nii.gz) or a folder of DICOM slices.")
    var volume: String

    @Option(name: .long, help: "The test volume's label map.")
    var labels: String

    @Option(name: .long, help: "The test organ (liver, spleen, left_kidney, right_kidney).")
    var organ: String

    @Option(name: .long, help: "Number of chunks C.")
    var chunks: Int = 3

    @Option(name: .long, help: "A separate support volume (SSL-ALPNet variant); needs --support-labels.")
    var supportVolume: String?

    @Option(name: .long, help: "The separate support volume's label map.")
    var supportLabels: String?

    @OptionGroup var labelMapOption: LabelMapOption

    func run() throws {
        try CLIErrors.report {
            let map = try labelMapOption.labelMap()
            _ = try map.id(of: organ)
            let v = try VolumeReader.read(URL(fileURLWithPath: volume))
            let l = try NIfTIReader.readLabels(URL(fileURLWithPath: labels), matching: v)
            var source = SupportSource.sameVolume
            switch (supportVolume, supportLabels) {
            case (nil, nil): break
            case let (sv?, sl?):
                let s = try VolumeReader.read(URL(fileURLWithPath: sv))
                source = .separateVolume(s, try NIfTIReader.readLabels(URL(fileURLWithPath: sl), matching: s))
            default:
                throw ToolkitError(.invalidArgument, "--support-volume and --support-labels go together")
            }
            let test = try FewShotTestCase(volume: v, labels: l, organ: organ, labelMap: map, chunks: chunks, support: source)
            let id = try map.id(of: organ)
            let range = l.sliceRange(id)!
            print("organ \(test.organ) (label \(id)): slices \(range.lowerBound)-\(range.upperBound), \(chunks) chunks, support from \(supportVolume ?? "the same volume")")
            for (i, c) in test.chunks.enumerated() {
                print("chunk \(i): slices \(c.slices.lowerBound)-\(c.slices.upperBound)  support \(c.support)  queries \(c.queries.map(String.init).joined(separator: ","))")
            }
        }
    }
}
