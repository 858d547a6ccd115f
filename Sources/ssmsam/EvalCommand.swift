import ArgumentParser
import FewShot
import Foundation
import MedicalData
import SAM
import SSMSAM
import TensorCore
import Zoo

/// `ssmsam eval`: the protocol's 1-shot evaluation of SSM-SAM and the zero-shot SAM baselines on one volume.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "1-shot evaluation on a labelled volume: SSM-SAM adapted per chunk and zero-shot SAM from the same supports.",
        discussion: """
            Per organ: its slice range in --chunks chunks; each chunk's centre slice (or the matching slice of \
            --support-volume) with its mask is the support, every other slice a query. SSM-SAM adapts on the \
            support (--steps inner steps with the model's learned rates, or plain fine-tuning with --fine-tune), \
            then predicts the queries; SAM is prompted from the support mask (point, box, mask). 3-D Dice per \
            organ. Query labels are never an input. Writes OUT/record.json, OUT/prediction_<organ>.nii.gz (on \
            the volume's grid and header) and OUT/panels/*.png.
            """)

    @Option(help: "The SSM-SAM model (.safetensors, .pth + .json, a run folder), or organ=MODEL,... per organ.") var model: String
    @Option(help: "The SAM model of the zero-shot baselines (default: the built-in mobile_sam).") var base = "mobile_sam"
    @Option(help: "The CT/MR volume (NIfTI).") var volume: String
    @Option(help: "Its label map (NIfTI, same grid).") var labels: String
    @Option(help: "Label-map preset (totalseg, synapse, chaos) or name=id,...") var preset = "totalseg"
    @Option(help: "Intensity preset: ct, mri, window:LO:HI or percentile:P.") var intensity = "ct"
    @Option(help: "Organs, comma-separated.") var organs = "liver,spleen,left_kidney,right_kidney"
    @Option(help: "Chunks per organ.") var chunks = 3
    @Option(help: "Online adaptation steps (default: the model's learned rates' steps, else 5).") var steps: Int?
    @Flag(help: "Adapt by plain AdamW fine-tuning (the 'w/o MAML++' rows) instead of the learned rates.") var fineTune = false
    @Option(help: "The fine-tuning learning rate.") var fineTuneRate: Float = 2e-4
    @Option(help: "Setting recorded for the model's training (1 or 2).") var setting = 1
    @Option(help: "A separate support volume (SSL-ALPNet's protocol).") var supportVolume: String?
    @Option(help: "Its label map.") var supportLabels: String?
    @Flag(help: "Skip the zero-shot baselines.") var noBaselines = false
    @Option(help: "The output folder (new).") var out: String

    func run() throws {
        try CLIErrors.report {
            let labelMap = try LabelMap.named(preset)
            let intensityPreset = try IntensityPreset(parsing: intensity)
            guard (supportVolume == nil) == (supportLabels == nil) else {
                throw ValidationError("--support-volume and --support-labels go together")
            }
            let organList = organs.split(separator: ",").map { LabelMap.normalise(String($0)) }
            let perOrgan = try ModelMapping(model, organs: organList)
            var loaded: [URL: (SSMSAMModel, LearnedStepRates?)] = [:]
            func ssm(_ url: URL) throws -> (SSMSAMModel, LearnedStepRates?) {
                if let m = loaded[url] { return m }
                let m = try MetaModelFile.load(url)
                loaded[url] = m
                return m
            }
            let sam = try SAMModelStore.load(base)
            let firstModel = try ssm(perOrgan.file(for: organList[0]))
            let bank = SliceBank(imageSize: firstModel.0.config.base.encoder.imageSize, preset: intensityPreset,
                                 ssm: firstModel.0.adapter == nil ? firstModel.0 : nil)
            // The baselines reuse SSM-SAM's encoder pass when both models carry the same encoder weights.
            let shares = firstModel.0.adapter == nil && sam.imageEncoder.stateDict() == firstModel.0.imageEncoder.stateDict()
            let zeroShot = ZeroShotMethod(sam: sam, sharesEncoder: shares)
            var info = EvaluationRunner.RunInfo()
            info.toolkit = ToolkitVersion.string
            info.processor = CPUInfo.host.summary
            info.volumeSHA256 = try FileDigest.sha256(of: URL(fileURLWithPath: volume)).hex
            info.setting = String(setting)
            for o in organList {
                let f = perOrgan.file(for: o)
                info.models[o] = (f.path, try FileDigest.sha256(of: f).hex)
            }
            let runner = EvaluationRunner(image: URL(fileURLWithPath: volume), labels: URL(fileURLWithPath: labels), labelMap: labelMap,
                                          preset: intensityPreset, chunks: chunks,
                                          supportVolume: supportVolume.map { (URL(fileURLWithPath: $0), URL(fileURLWithPath: supportLabels!)) })
            let record = try runner.run(organs: organList, methods: { organ in
                let (m, rates) = try ssm(perOrgan.file(for: organ))
                let adaptation: SupportAdaptation
                if fineTune || rates == nil {
                    adaptation = try FineTuner(model: m, steps: steps ?? rates?.steps ?? 5, learningRate: fineTuneRate)
                } else {
                    adaptation = try OnlineOptimiser(model: m, rates: rates!)
                }
                let ssmMethod = SSMSAMMethod(name: "ssmsam", model: m, adaptation: adaptation)
                return noBaselines ? [ssmMethod] : [ssmMethod, zeroShot]
            }, bank: bank, info: info, out: URL(fileURLWithPath: out), progress: { print($0) })
            print(String(format: "mean Dice %.4f over %d organs; wrote %@ (record.json, predictions, panels)", record.meanDice,
                         record.organs.count, out))
        }
    }
}
