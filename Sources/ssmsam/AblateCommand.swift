import ArgumentParser
import FewShot
import FileIO
import Foundation

/// `ssmsam ablate`: the paper's Table 1 on one volume, every variant and the zero-shot baselines on the same
/// chunks in one run, as a markdown table and JSON.
struct AblateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ablate", abstract: "The ablation table: SSM-SAM variants and zero-shot SAM on the same chunks; markdown and JSON.",
        discussion: """
            Each --variant NAME=MODELS names a row: MODELS is a model or run folder, or organ=MODEL,... (each \
            organ's model trained without it). The paper's rows: ssmsam (meta-trained, FMAD), ssmsam_no_fmad \
            (meta-trained with --no-fmad), sssam (meta-train --no-meta, adapted by fine-tuning), sssam_no_fmad. \
            A variant whose NAME ends in '+ft' is adapted by fine-tuning even when it has learned rates. Writes \
            OUT/record.json, OUT/table.md, the predictions and panels.

            Example:
              ssmsam ablate --variant ssmsam=RUN --variant ssmsam_no_fmad=RUN_NOFMAD --volume ct.nii.gz --labels labels.nii.gz --organs liver --chunks 3 --out ABLATION
            """)

    @Option(help: "A row: NAME=MODEL or NAME=organ=MODEL,organ=MODEL,...; repeat.") var variant: [String]
    @OptionGroup var options: EvaluationOptions

    func run() throws {
        try CLIErrors.report {
            let variants = try variant.map { spec -> EvaluationOptions.Variant in
                guard let eq = spec.firstIndex(of: "="), eq != spec.startIndex else {
                    throw ValidationError("--variant \(spec): expected NAME=MODEL")
                }
                let name = String(spec[..<eq])
                return .init(name: name, models: String(spec[spec.index(after: eq)...]), fineTune: name.hasSuffix("+ft"))
            }
            guard !variants.isEmpty, Set(variants.map(\.name)).count == variants.count else {
                throw ValidationError("give one or more --variant with distinct names")
            }
            let record = try options.run(variants)
            let table = Self.markdown(record, rows: variants.map(\.name) + (options.noBaselines ? [] : ["sam_point", "sam_box", "sam_mask"]),
                                      organs: options.organList)
            try AtomicFile.write(Data(table.utf8), to: URL(fileURLWithPath: options.out).appendingPathComponent("table.md"))
            print(table)
        }
    }

    /// Rows = methods, columns = organs and their mean (3-D Dice).
    static func markdown(_ r: EvaluationRecord, rows: [String], organs: [String]) -> String {
        var lines = ["| method | " + organs.joined(separator: " | ") + " | mean |", "|---|" + String(repeating: "---|", count: organs.count + 1)]
        for m in rows {
            let ds = organs.map { r.organs[$0]?.methods[m]?.dice }
            let cells = ds.map { $0.map { String(format: "%.3f", $0) } ?? "-" }
            let mean = r.meanDiceByMethod[m].map { String(format: "%.3f", $0) } ?? "-"
            lines.append("| \(m) | " + cells.joined(separator: " | ") + " | \(mean) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
