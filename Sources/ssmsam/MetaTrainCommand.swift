import ArgumentParser
import FewShot
import FileIO
import Foundation
import Imaging
import MedicalData
import SAM
import SSMSAM
import TensorCore

/// `ssmsam meta-train`: first-order MAML++ meta-training of SSM-SAM's heads on the training organs of a task
/// (the test organ held out), into a run folder: `state.safetensors` (resumable, written atomically every
/// epoch), `loss.png` (the loss curves so far) and `model.safetensors` (+ `model.json`; the heads and their learned inner rates, usable wherever
/// a model is accepted).
struct MetaTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meta-train",
        abstract: "Meta-train SSM-SAM (first-order MAML++) on the training organs; the test organ is never seen.",
        discussion: """
        Episodes: a training organ's slice range in a volume cut into --chunks chunks; the support is a chunk's \
        centre slice, the queries other slices of the same chunk. Deterministic for a --seed; --resume continues \
        RUN/state.safetensors exactly.
        """)

    @Option(help: "The SAM base (model name or checkpoint), frozen.") var base = "mobile_sam"
    @Option(help: "A CT/MR volume (NIfTI) for training.") var volume: String?
    @Option(help: "Its label map (NIfTI).") var labels: String?
    @Option(help: "A dataset: a folder with images/ and labels/, or a JSON/CSV manifest.") var data: String?
    @Option(help: "Label-map preset (totalseg, synapse, chaos) or name=id,...") var preset = "totalseg"
    @Option(help: "Intensity preset: ct, mri, window:LO:HI or percentile:P.") var intensity = "ct"
    @Option(help: "The held-out test organ.") var testOrgan: String
    @Option(help: "1: training slices may show the test organ (as background); 2: they may not.") var setting = 1
    @Option(help: "Epochs.") var epochs = 50
    @Option(help: "Seed of the heads' initialisation and of the episodes.") var seed: UInt64 = 0
    @Option(help: "Tasks (training organs) per meta-batch.") var tasks = 3
    @Option(help: "Inner steps S.") var steps = 5
    @Option(help: "Initial inner learning rate alpha of every learned rate (the design's default 1e-3).") var innerRate: Float = 1e-3
    @Option(help: "Query slices per task.") var queries = 2
    @Option(help: "Chunks per organ range.") var chunks = 12
    @Option(help: "Meta-batches per epoch.") var batches = 1
    @Flag(help: "No meta-learning: plain episodic training of the heads (one inner step at rate 0, rates not learned), the pretraining of the 'w/o MAML++' rows; adapt such a model with fine-tuning.") var noMeta = false
    @Flag(help: "No FMAM blocks (the 'w/o FMAD' ablation).") var noFmad = false
    @Flag(help: "Continue RUN/state.safetensors.") var resume = false
    @Option(help: "The run folder.") var out: String

    func run() throws {
        try CLIErrors.report {
            guard setting == 1 || setting == 2 else { throw ValidationError("--setting \(setting): expected 1 or 2") }
            let run = URL(fileURLWithPath: out)
            let stateURL = run.appendingPathComponent("state.safetensors")
            try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
            if !resume && FileManager.default.fileExists(atPath: stateURL.path) {
                throw ValidationError("\(stateURL.path) exists: pass --resume to continue it, or choose another --out")
            }
            var config = MetaLearnerConfig()
            (config.tasksPerBatch, config.innerSteps, config.queryShots) = (tasks, steps, queries)
            (config.epochs, config.batchesPerEpoch, config.seed) = (epochs, batches, seed)
            config.innerRate = innerRate
            if noMeta { (config.innerSteps, config.innerRate, config.ratesFrozen) = (1, 0, true) }
            let sam = try SAMModelStore.load(base)
            var modelConfig = SSMSAMConfig(base: sam.config)
            if noFmad { modelConfig.fmad = false }
            let model = try SSMSAMModel(base: sam, config: modelConfig)
            try model.initializeHeads(seed: seed)
            model.assignNames()
            let learner = try MetaLearner(model: model, config: config)
            if resume {
                try learner.restore(try TrainingState.read(stateURL))
                print("resumed \(stateURL.path) after epoch \(learner.epoch)")
            }
            let baseURL = try SAMModelStore.resolve(base)
            let cache = try FeatureCache(baseID: baseURL.standardizedFileURL.path, directory: run.appendingPathComponent("features"))
            let source = try VolumeEpisodeSource(volumes: try loadVolumes(), task: try OrganTask(testOrgan: testOrgan),
                                                 setting: setting == 1 ? .setting1 : .setting2, labelMap: try LabelMap.named(preset),
                                                 preset: try IntensityPreset(parsing: intensity), chunks: chunks, model: model, cache: cache)
            if !source.excludedOrgans.isEmpty { print("no training data for: \(source.excludedOrgans.joined(separator: ", "))") }
            print("tasks: \(source.organs.joined(separator: ", ")); test organ \(source.task.testOrgan) held out")
            let start = Date(), first = learner.epoch
            while learner.epoch < config.epochs {
                let r = try learner.trainEpoch(source)
                try learner.state().write(to: stateURL)
                // Without meta-learning there are no learned rates: the model is adapted by fine-tuning.
                if noMeta { try SSMSAMStore.save(model, to: run.appendingPathComponent("model.safetensors")) } else {
                    try MetaModelFile.save(model, rates: learner.rates, to: run.appendingPathComponent("model.safetensors"))
                }
                // The loss curves so far: outer (red), query (blue) and support (green) loss per epoch.
                let h = learner.history
                try ImageIO.writePNG(LineChart.render([
                    .init(h.map { Double($0.outerLoss) }, colour: .red), .init(h.map { Double($0.queryLoss) }, colour: RGB(40, 90, 220)),
                    .init(h.map { Double($0.supportLoss) }, colour: .green)]), to: run.appendingPathComponent("loss.png"))
                let elapsed = Date().timeIntervalSince(start), done = learner.epoch - first
                let left = elapsed / Double(done) * Double(config.epochs - learner.epoch)
                print(String(format: "epoch %d/%d  support %.4f  query %.4f  outer %.4f  lr %.3g  %.0f s, about %.0f s left",
                             r.epoch + 1, config.epochs, r.supportLoss, r.queryLoss, r.outerLoss, r.learningRate, elapsed, left))
            }
            // The run's record (protocol.md): what was trained on, how, and which checkpoint is the model.
            let record: [String: Any] = [
                "toolkit": ToolkitVersion.string, "processor": CPUInfo.host.summary, "base": base,
                "data": data.map { ["dataset": $0] } ?? ["volume": volume ?? "", "labels": labels ?? ""],
                "label_map": preset, "intensity": intensity, "test_organ": source.task.testOrgan, "training_organs": source.organs,
                "setting": setting, "meta_learning": !noMeta, "fmad": !noFmad, "epochs": config.epochs, "inner_steps": config.innerSteps, "inner_rate_init": Double(config.innerRate),
                "tasks_per_batch": config.tasksPerBatch, "query_shots": config.queryShots, "chunks": chunks, "seed": Int(config.seed),
                "checkpoint": "last epoch (model selection never looks at the test organ)",
                "wall_seconds_this_invocation": Date().timeIntervalSince(start),
                "history": learner.history.map { ["epoch": $0.epoch, "outer_loss": Double($0.outerLoss), "query_loss": Double($0.queryLoss),
                                                  "support_loss": Double($0.supportLoss), "learning_rate": Double($0.learningRate)] },
            ]
            try AtomicFile.write(try JSONSerialization.data(withJSONObject: record, options: [.prettyPrinted, .sortedKeys]),
                                 to: run.appendingPathComponent("run.json"))
            print("wrote \(run.path)/model.safetensors, state.safetensors, loss.png and run.json")
        }
    }

    /// The training volumes: one (--volume, --labels) pair or every case of --data.
    private func loadVolumes() throws -> [(image: Volume, labels: LabelVolume)] {
        switch (volume, labels, data) {
        case let (v?, l?, nil):
            let image = try NIfTIReader.readVolume(URL(fileURLWithPath: v))
            return [(image, try NIfTIReader.readLabels(URL(fileURLWithPath: l), matching: image))]
        case let (nil, nil, d?):
            let url = URL(fileURLWithPath: d), map = try LabelMap.named(preset)
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir)
            let dataset = isDir.boolValue ? try Dataset.folder(url, labelMap: map) : try Dataset.manifest(url, labelMap: map)
            return try dataset.cases.map { try dataset.load($0) }
        default:
            throw ValidationError("give --volume and --labels, or --data")
        }
    }
}
