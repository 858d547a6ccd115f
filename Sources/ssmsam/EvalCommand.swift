import ArgumentParser
import Foundation

/// `ssmsam eval`: the protocol's 1-shot evaluation of SSM-SAM and the zero-shot SAM baselines on one volume.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "1-shot evaluation on a labelled volume: SSM-SAM adapted per chunk and zero-shot SAM from the same supports.",
        discussion: """
            Per organ: its slice range in --chunks chunks; each chunk's centre slice (or the matching slice of \
            --support-volume) with its mask is the support, every other slice a query. SSM-SAM adapts on the \
            support (its learned inner rates, or --steps of AdamW fine-tuning for a model without them or with \
            --fine-tune), then predicts the queries; SAM is prompted from the support mask (point, box, mask). \
            3-D Dice per organ. Query labels are never an input. Writes OUT/record.json, \
            OUT/prediction_<organ>.nii.gz (on the volume's grid and header) and OUT/panels/*.png.

            Examples:
              ssmsam eval --model zoo:ssmsam/mobile-liver@1.0.0 --volume ct.nii.gz --labels labels.nii.gz --organs liver --chunks 3 --out EVAL
              ssmsam eval --model liver=RUN1,spleen=RUN2 --volume ct.nii.gz --labels labels.nii.gz --organs liver,spleen --out EVAL --json
            """)

    @Option(help: "The SSM-SAM model (a meta-train run folder, a model file or zoo:ID[@VERSION]), or organ=MODEL,... per organ.") var model: String
    @Flag(help: "Adapt by AdamW fine-tuning (the 'w/o MAML++' way) even when the model has learned rates.") var fineTune = false
    @OptionGroup var options: EvaluationOptions
    @Flag(help: "Print OUT/record.json on stdout when done (progress goes to stderr).") var json = false

    func run() throws {
        try CLIErrors.report {
            let record = try options.run([.init(name: "ssmsam", models: model, fineTune: fineTune)],
                                         progress: json ? JSONOutput.note : { print($0) })
            if json {
                // The record exactly as written, so stdout and the file never disagree.
                let file = URL(fileURLWithPath: options.out).appendingPathComponent("record.json")
                print(String(decoding: try Data(contentsOf: file), as: UTF8.self))
                return
            }
            print(String(format: "mean Dice %.4f over %d organs; wrote %@ (record.json, predictions, panels)", record.meanDice,
                         record.organs.count, options.out))
        }
    }
}
