import ArgumentParser
import Foundation
import Imaging
import SAM
import SSMSAM
import TensorCore

/// `ssmsam parity`: the toolkit against a reference bundle of the user's own PyTorch model
/// (`scripts/record_reference.py`), stage by stage; exits 1 when a stage is outside the tolerance.
struct ParityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parity", abstract: "Check the toolkit against a reference bundle recorded from PyTorch, stage by stage.",
        discussion: """
            Runs the bundle's inputs (decoded from its inputs/ folder) through the toolkit and compares every recorded \
            stage in pipeline order: max abs difference, max difference relative to the reference's magnitude, and the \
            IoU of the masks (logit > 0) where a stage holds mask logits. Exit status 0 when every stage passes, 1 when \
            one fails (the first failing stage is named) or on an error. Record a bundle with \
            scripts/record_reference.py. --model is a SAM model for a SAM bundle, an SSM-SAM model for an SSM-SAM one.

            Examples:
              ssmsam parity --model vit_b.pth --reference ref/
              ssmsam parity --model heads.pth --reference ssm_ref/ --json
            """)

    /// For an SSM-SAM bundle, `--model` is an SSM-SAM model file (.safetensors, or .pth with the twin's .json).
    @OptionGroup var model: ModelOptions
    @Option(help: "The reference bundle folder (manifest.json, reference.safetensors, inputs/).")
    var reference: String
    @Option(help: "A stage passes when max |toolkit - reference| <= this x max |reference|.")
    var tolerance: Float = 1e-3
    @Option(help: "Also require this mask IoU (logit > 0) on stages holding mask logits.")
    var minIou: Float?
    @Option(help: "Compare only these stages: comma-separated names or prefixes (e.g. encoder,decoder.iou).")
    var stages: String?
    @Flag(help: "Print the report as JSON instead of the table.")
    var json = false

    func run() throws {
        let report = try CLIErrors.report { () throws -> ParityReport in
            guard tolerance >= 0 && tolerance.isFinite else { throw ValidationError("--tolerance must be a finite number >= 0") }
            let bundle = try ParityBundle(directory: URL(fileURLWithPath: reference))
            let only = (stages ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            _ = try ParityReport.select(bundle, only)  // a typo in --stages costs no model run
            let outputs: [String: Tensor]
            switch bundle.manifest.kind {
            case .sam:
                let sam = try model.load()
                let image = try ImageIO.read(try bundle.input(bundle.manifest.inputs.image, "image")).rgb()
                outputs = try SAMParityStages.outputs(model: sam, bundle: bundle, rgb: image.pixels, width: image.width, height: image.height)
            case .ssmsam:
                let m = try SSMSAMStore.load(URL(fileURLWithPath: model.model))
                let inputs = bundle.manifest.inputs
                let s = try ImageIO.read(try bundle.input(inputs.support, "support")).rgb()
                let q = try ImageIO.read(try bundle.input(inputs.query, "query")).rgb()
                let mask = try BinaryMaskFile(try bundle.input(inputs.supportMask, "support_mask").path)
                guard mask.width == s.width && mask.height == s.height else {
                    throw ValidationError("the bundle's support mask is \(mask.width) x \(mask.height), its support image \(s.width) x \(s.height)")
                }
                outputs = try SSMSAMParityStages.outputs(model: m, bundle: bundle, support: (s.pixels, s.width, s.height),
                                                         supportMask: mask.mask, query: (q.pixels, q.width, q.height))
            }
            return try ParityReport(bundle: bundle, model: model.model, outputs: outputs, only: only, tolerance: tolerance, minIoU: minIou)
        }
        if json {
            print(String(decoding: try report.json(), as: UTF8.self))
        } else {
            print("reference \(report.bundle) (\(report.kind.rawValue); model sha256 \(report.referenceModelSHA256.prefix(16))...)")
            print(report.table)
        }
        if !report.passed { throw ExitCode.failure }
    }
}
