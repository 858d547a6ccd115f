import ArgumentParser
import Foundation
import Imaging
import MedicalData

/// `ssmsam data`: medical volumes and the few-shot protocol's data layer.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Inspect NIfTI volumes, list few-shot episodes, render slices.",
        discussion: """
            Example:
              ssmsam data inspect ct.nii.gz --labels labels.nii.gz
            """,
        subcommands: [DataInspectCommand.self, DataEpisodesCommand.self, DataRenderCommand.self])
}

/// Options shared by the `data` subcommands.
struct LabelMapOption: ParsableArguments {
    /// The help of every command's `--preset` (the label-map presets `LabelMap.named` knows).
    static let presetHelp = ArgumentHelp("Label-map preset (totalseg, totalseg-all: all 117 TotalSegmentator v2 classes, synapse, chaos) or a custom map name=id,name=id.")

    @Option(name: .long, help: presetHelp)
    var preset: String = "totalseg"

    func labelMap() throws -> LabelMap { try LabelMap.named(preset) }
}

/// Display colours of the protocol organs (labels of other organs cycle through the palette).
enum OrganColours {
    static func colour(_ organ: String, index: Int) -> RGB {
        switch organ {
        case "liver": return RGB(235, 120, 40)       // orange
        case "spleen": return RGB(60, 130, 245)      // blue
        case "left_kidney": return RGB(240, 220, 40) // yellow
        case "right_kidney": return RGB(40, 200, 90) // green
        default: return RGB.palette[index % RGB.palette.count]
        }
    }
}
