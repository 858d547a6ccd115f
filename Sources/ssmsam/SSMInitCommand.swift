import ArgumentParser
import Foundation
import NN
import SAM
import SSMSAM

/// `ssmsam ssm init`: a fresh SSM-SAM model, the base's weights and heads initialised from a seed.
struct SSMInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Make an SSM-SAM model: a SAM base (frozen) and freshly initialised heads.",
        discussion: """
            Examples:
              ssmsam ssm init --base mobile_sam --out M.safetensors
              ssmsam ssm init --base mobile_sam --no-adapters --out M.pth
            """)

    @Option(help: "The SAM base: a checkpoint or a model name (e.g. mobile_sam).") var base: String
    @Option(help: "Output model: M.safetensors (config inside and in M.json beside it) or M.pth (for the PyTorch twin).") var out: String
    @Option(help: "Seed of the heads' initialisation.") var seed: UInt64 = 0
    @Flag(help: "No per-block adapters (ViT bases): the cheap path, with cacheable encoder features.") var noAdapters = false
    @Flag(help: "No FMAM blocks (the 'w/o FMAD' ablation).") var noFmad = false
    @Option(help: FMADKeys.help) var fmadKeys = FMADKeys.query

    func run() throws {
        try CLIErrors.report {
            let sam = try ZooModels.sam(base)
            var config = SSMSAMConfig(base: sam.config)
            if noAdapters { config.adapters = false }
            if noFmad { config.fmad = false }
            config.fmadKeys = fmadKeys
            let model = try SSMSAMModel(base: sam, config: config)
            try model.initializeHeads(seed: seed)
            try SSMSAMStore.save(model, to: URL(fileURLWithPath: out))
            SSMModelSummary.lines(model).forEach { print($0) }
            print("wrote \(out) (seed \(seed))")
        }
    }
}
