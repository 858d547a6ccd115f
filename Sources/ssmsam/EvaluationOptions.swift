import ArgumentParser
import FewShot
import Foundation
import MedicalData
import SAM
import SSMSAM
import TensorCore
import Zoo

/// The options `eval` and `ablate` share, and the run they both make: the protocol's 1-shot evaluation of
/// one or more SSM-SAM variants and the zero-shot baselines on the same chunks of one volume.
struct EvaluationOptions: ParsableArguments {
    @Option(help: "The SAM model of the zero-shot baselines (default: the built-in mobile_sam).") var base = "mobile_sam"
    @Option(help: "The CT/MR volume (NIfTI file or DICOM series folder).") var volume: String
    @Option(help: "Its label map (NIfTI, same grid).") var labels: String
    @Option(help: LabelMapOption.presetHelp) var preset = "totalseg"
    @Option(help: "Intensity preset: ct, mri, window:LO:HI or percentile:P.") var intensity = "ct"
    @Option(help: "Organs, comma-separated.") var organs = "liver,spleen,left_kidney,right_kidney"
    @Option(help: "Chunks per organ.") var chunks = 3
    @Option(help: "Fine-tuning steps for models without learned rates (and with --fine-tune).") var steps = 5
    @Option(help: "The fine-tuning learning rate (a few steps: larger than the meta-learner's outer 2e-4).") var fineTuneRate: Float = 1e-3
    @Option(help: "Setting the models were trained in (1 or 2), for the record.") var setting = 1
    @Option(help: "A separate support volume (SSL-ALPNet's protocol; NIfTI or DICOM folder).") var supportVolume: String?
    @Option(help: "Its label map.") var supportLabels: String?
    @Flag(help: "Skip the zero-shot baselines.") var noBaselines = false
    @Option(help: "The output folder (new).") var out: String
    @OptionGroup var precision: PrecisionOption

    /// One SSM-SAM variant: its name in the record, its model(s), and whether it adapts by fine-tuning even
    /// when its model has learned rates.
    struct Variant { let name: String; let models: String; let fineTune: Bool }

    var organList: [String] { organs.split(separator: ",").map { LabelMap.normalise(String($0)) } }

    /// Runs the evaluation of `variants` (and the baselines); `progress` receives a line per chunk and organ.
    func run(_ variants: [Variant], progress: (String) -> Void = { print($0) }) throws -> EvaluationRecord {
        let labelMap = try LabelMap.named(preset)
        let intensityPreset = try IntensityPreset(parsing: intensity)
        guard (supportVolume == nil) == (supportLabels == nil) else {
            throw ValidationError("--support-volume and --support-labels go together")
        }
        let organList = self.organList
        let mappings = try variants.map { try ModelMapping($0.models, organs: organList) }
        var loaded: [String: ZooModels.SSMSource] = [:]
        func ssm(_ text: String) throws -> ZooModels.SSMSource {
            if let m = loaded[text] { return m }
            let m = try ZooModels.ssm(text)
            loaded[text] = m
            return m
        }
        let sam = try precision.apply(ZooModels.sam(base))
        let firstText = mappings[0].model(for: organList[0])
        let first = try ssm(firstText).model
        let encoder = first.imageEncoder.stateDict()
        // Every model once (variants may share one): the shared frozen features need one encoder.
        var models: [String: String] = [:]
        for (v, mapping) in zip(variants, mappings) { for o in organList where models[mapping.model(for: o)] == nil { models[mapping.model(for: o)] = v.name } }
        for (text, name) in models where text != firstText {
            guard try ssm(text).model.imageEncoder.stateDict() == encoder else {
                throw ValidationError("\(name): \(text) has another image encoder than \(firstText); evaluate it in its own run")
            }
        }
        let bank = SliceBank(imageSize: first.config.base.encoder.imageSize, preset: intensityPreset, ssm: first.adapter == nil ? first : nil)
        // The baselines reuse SSM-SAM's encoder pass when both carry the same encoder weights.
        let zeroShot = ZeroShotMethod(sam: sam, sharesEncoder: ZeroShotMethod.canShareEncoder(first, with: sam))
        var info = EvaluationRunner.RunInfo()
        info.toolkit = ToolkitVersion.string
        info.processor = CPUInfo.host.summary
        info.precision = try precision.chosen().rawValue
        // SSM-SAM's frozen encoder (whose features the bank computes from `first`) in the same precision; the
        // heads' weights are not converted, so adaptation and its gradients stay fp32.
        let encoderBF16 = sam.precision == .bf16 ? try first.imageEncoder.convertedToBF16() : nil
        info.volumeSHA256 = try FileDigest.sha256(of: URL(fileURLWithPath: volume)).hex
        info.setting = String(setting)
        for o in organList {
            let m = try ssm(mappings[0].model(for: o))
            info.models[o] = (m.label, m.sha256)
        }
        let runner = EvaluationRunner(image: URL(fileURLWithPath: volume), labels: URL(fileURLWithPath: labels), labelMap: labelMap,
                                      preset: intensityPreset, chunks: chunks,
                                      supportVolume: supportVolume.map { (URL(fileURLWithPath: $0), URL(fileURLWithPath: supportLabels!)) })
        return try ReducedPrecision.with(encoderBF16) { try runner.run(organs: organList, methods: { organ in
            var methods: [EpisodeMethod] = try zip(variants, mappings).map { v, mapping in
                let source = try ssm(mapping.model(for: organ))
                let (m, rates) = (source.model, source.rates)
                let adaptation: SupportAdaptation = try (v.fineTune || rates == nil)
                    ? FineTuner(model: m, steps: steps, learningRate: fineTuneRate) : OnlineOptimiser(model: m, rates: rates!)
                return SSMSAMMethod(name: v.name, model: m, adaptation: adaptation)
            }
            if !noBaselines { methods.append(zeroShot) }
            return methods
        }, bank: bank, info: info, out: URL(fileURLWithPath: out), progress: progress) }
    }
}
