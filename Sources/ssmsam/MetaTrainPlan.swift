import ArgumentParser
import FewShot
import FileIO
import Formats
import Foundation
import MedicalData
import SAM
import SSMSAM
import TensorCore
import Zoo

/// `meta-train --plan-out` / `--plan` / `--init`: episode plans shared with the PyTorch twin
/// (scripts/twin_meta_train.py), and starting from a given model.
extension MetaTrainCommand {
    /// The meta-learner's settings from the options.
    func learnerConfig() -> MetaLearnerConfig {
        var config = MetaLearnerConfig()
        (config.tasksPerBatch, config.innerSteps, config.queryShots) = (tasks, steps, queries)
        (config.epochs, config.batchesPerEpoch, config.seed) = (epochs, batches, seed)
        config.innerRate = innerRate
        if noMeta { (config.innerSteps, config.innerRate, config.ratesFrozen) = (1, 0, true) }
        return config
    }

    /// The model to start from (--init, else the plan's initial model, else fresh heads on the base from the
    /// seed), the rates it carries when they have the config's steps, and the feature cache's base identity.
    func startingModel(config: MetaLearnerConfig, plan: EpisodePlan?) throws -> (SSMSAMModel, LearnedStepRates?, String) {
        if let path = initModel ?? plan?.initialModel?.path {
            let url = URL(fileURLWithPath: path)
            if initModel == nil, let want = plan?.initialModel?.sha256, try FileDigest.sha256(of: url).hex != want {
                throw ValidationError("\(path): its sha256 is not the plan's initial model's (\(want)); give --init to use it anyway")
            }
            let (model, rates) = try MetaModelFile.load(url)
            let usable = rates.flatMap { $0.steps == config.innerSteps && config.ratesFrozen != true ? $0 : nil }
            if rates != nil && usable == nil { print("\(path): its learned rates are not for \(config.innerSteps) steps; starting at alpha \(config.innerRate)") }
            return (model, usable, "init:" + url.standardizedFileURL.path)
        }
        let base = plan?.base ?? self.base
        let sam = try SAMModelStore.load(base)
        var modelConfig = SSMSAMConfig(base: sam.config)
        if plan.map({ !$0.fmad }) ?? noFmad { modelConfig.fmad = false }
        modelConfig.fmadKeys = plan.map { $0.fmadKeys ?? .unrecorded } ?? fmadKeys
        let model = try SSMSAMModel(base: sam, config: modelConfig)
        try model.initializeHeads(seed: plan?.headSeed ?? seed)
        model.assignNames()
        return (model, nil, try SAMModelStore.resolve(base).standardizedFileURL.path)
    }

    /// The task of --test-organ and --training-organs.
    func organTask() throws -> OrganTask {
        guard let testOrgan else { throw ValidationError("give --test-organ (or --plan)") }
        guard let trainingOrgans else { return try OrganTask(testOrgan: testOrgan) }
        let names = trainingOrgans.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return try OrganTask(testOrgan: testOrgan, training: names, labelMap: try LabelMap.named(preset))
    }

    /// The episodes of the data options under `task`.
    func episodeSource(task: OrganTask, model: SSMSAMModel, cache: FeatureCache?) throws -> VolumeEpisodeSource {
        return try VolumeEpisodeSource(volumes: try loadVolumes(), task: task,
                                       setting: setting == 1 ? .setting1 : .setting2, labelMap: try LabelMap.named(preset),
                                       preset: try IntensityPreset(parsing: intensity), chunks: chunks, model: model, cache: cache,
                                       validationEvery: validationEvery)
    }

    /// `--plan-out`: the episodes of every epoch as `meta-train` would draw them, with their slices beside.
    func writePlan(to url: URL) throws {
        guard plan == nil else { throw ValidationError("--plan-out writes a plan from the data options; it does not take --plan") }
        let config = learnerConfig()
        try config.validate()
        let (model, _, _) = try startingModel(config: config, plan: nil)
        let volumes = try loadVolumes()
        let source = try VolumeEpisodeSource(volumes: volumes, task: try organTask(),
                                             setting: setting == 1 ? .setting1 : .setting2, labelMap: try LabelMap.named(preset),
                                             preset: try IntensityPreset(parsing: intensity), chunks: chunks, model: model)
        let inputsURL = url.deletingPathExtension().appendingPathExtension("inputs.safetensors")
        func absolute(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.path }
        let labelMap = try LabelMap.named(preset)
        var (plan, inputs) = try EpisodePlan.make(source: source, config: config, inputsFile: inputsURL.lastPathComponent,
                                                  digest: FileDigest.sha256) { p in
            (p.toolkit, p.base, p.labelMap, p.intensity) = (ToolkitVersion.string, base, preset, intensity)
            p.labelIds = Dictionary(uniqueKeysWithValues: ([source.task.testOrgan] + source.task.trainingOrgans).compactMap { o in (try? labelMap.id(of: o)).map { (o, Int($0)) } })
            p.volumes = try volumes.map {
                let (i, l) = (absolute($0.image.source), absolute($0.labels.source))
                return .init(image: i, imageSHA256: try FileDigest.sha256(of: URL(fileURLWithPath: i)).hex,
                             labels: l, labelsSHA256: try FileDigest.sha256(of: URL(fileURLWithPath: l)).hex)
            }
            if let i = initModel { p.initialModel = .init(path: absolute(i), sha256: try FileDigest.sha256(of: URL(fileURLWithPath: i)).hex) }
        }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try SafeTensors.write(inputs, metadata: ["format": "ssmsam-episode-plan-inputs"], to: inputsURL)
        plan.inputs.sha256 = try FileDigest.sha256(of: inputsURL).hex
        try AtomicFile.write(try plan.json(), to: url)
        let tasks = plan.epochs.reduce(0) { $0 + $1.batches.reduce(0) { $0 + $1.tasks.count } }
        print("wrote \(url.path): \(plan.epochs.count) epochs, \(tasks) tasks on \(plan.trainingOrgans.joined(separator: ", ")) "
              + "(test organ \(plan.testOrgan) held out), \(plan.slices.count) slices in \(inputsURL.lastPathComponent)")
    }
}

/// An episode plan given to `meta-train --plan`, with its inputs file (checked against the plan's sha256).
struct PlanInput {
    let url: URL
    let plan: EpisodePlan
    let sha256: String
    let inputs: StateDict
    let inputsFile: String

    init(_ url: URL) throws {
        plan = try EpisodePlan.read(url)
        (self.url, sha256) = (url, try FileDigest.sha256(of: url).hex)
        let inputsURL = url.deletingLastPathComponent().appendingPathComponent(plan.inputs.file)
        let actual = try FileDigest.sha256(of: inputsURL).hex
        guard actual == plan.inputs.sha256 else {
            throw ValidationError("\(inputsURL.path): sha256 \(actual), the plan expects \(plan.inputs.sha256)")
        }
        inputs = try SafeTensors.read(inputsURL).tensors
        inputsFile = inputsURL.path
    }

    /// What run.json records as the data.
    var data: [String: Any] {
        plan.volumes.count == 1 ? ["volume": plan.volumes[0].image, "labels": plan.volumes[0].labels]
            : ["volumes": plan.volumes.map { ["image": $0.image, "labels": $0.labels] }]
    }

    func episodes(model: SSMSAMModel, cache: FeatureCache?) throws -> PlanEpisodes {
        try PlanEpisodes(plan: plan, inputs: inputs, inputsFile: inputsFile, model: model, cache: cache, digest: FileDigest.sha256)
    }
}
