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

        Validation: every --validation-every-th chunk of each training organ's range is held out (never drawn \
        for training); after each epoch the model is adapted on each held-out chunk's centre slice and scored \
        (Dice) on up to 3 of its other slices. RUN/model.safetensors is the epoch with the best validation Dice \
        (RUN/last.safetensors the last epoch, RUN/validation.png the Dice per epoch); run.json records the \
        choice. The test organ is never used.

        Examples:
          ssmsam meta-train --base mobile_sam --volume ct.nii.gz --labels labels.nii.gz --test-organ liver --epochs 8 --out RUN
          ssmsam meta-train --base mobile_sam --data DATASET --test-organ spleen --seed 1 --resume --out RUN
        """)

    @Option(help: "The SAM base (model name or checkpoint), frozen.") var base = "mobile_sam"
    @Option(help: "A CT/MR volume for training (NIfTI file or DICOM series folder).") var volume: String?
    @Option(help: "Its label map (NIfTI).") var labels: String?
    @Option(help: "A dataset: a folder with images/ and labels/, or a JSON/CSV manifest.") var data: String?
    @Option(help: LabelMapOption.presetHelp) var preset = "totalseg"
    @Option(help: "Intensity preset: ct, mri, window:LO:HI or percentile:P.") var intensity = "ct"
    @Option(help: "The held-out test organ (not with --plan).") var testOrgan: String?
    @Option(help: "Training organs: a comma list of the label map's organs, or 'all' (every organ of --preset but the test organ); default: the protocol's other three organs.") var trainingOrgans: String?
    @Option(help: "1: training slices may show the test organ (as background); 2: they may not.") var setting = 1
    @Option(help: "Epochs.") var epochs = 50
    @Option(help: "Seed of the heads' initialisation and of the episodes.") var seed: UInt64 = 0
    @Option(help: "Tasks (training organs) per meta-batch.") var tasks = 3
    @Option(help: "Inner steps S.") var steps = 5
    @Option(help: "Initial inner learning rate alpha of every learned rate (the design's default 1e-3).") var innerRate: Float = 1e-3
    @Option(help: "Initialise each tensor's learned rates so that its first inner step has this root-mean-square size (alpha = ETA / rms of its support gradient on the first meta-batch), instead of one --inner-rate for all. Not with --plan, --plan-out or --no-meta.") var calibrateRates: Float?
    @Flag(help: "With --calibrate-rates: calibrate every inner step where it is taken (step s from the gradient after the s steps before it), not all from the first.") var calibrateEachStep = false
    @Option(help: "Query slices per task.") var queries = 2
    @Option(help: "Chunks per organ range.") var chunks = 12
    @Option(help: "Meta-batches per epoch.") var batches = 1
    @Option(help: "Hold out every N-th chunk of each training organ's range for validation and model selection (0: no validation; the last epoch is the model).") var validationEvery = 4
    @Flag(help: "No meta-learning: plain episodic training of the heads (one inner step at rate 0, rates not learned), the pretraining of the 'w/o MAML++' rows; adapt such a model with fine-tuning.") var noMeta = false
    @Flag(help: "No FMAM blocks (the 'w/o FMAD' ablation).") var noFmad = false
    @Option(help: FMADKeys.help) var fmadKeys = FMADKeys.query
    @Flag(help: "Continue RUN/state.safetensors.") var resume = false
    @Option(help: "The run folder (not with --plan-out).") var out: String?
    @Option(name: .customLong("init"), help: "Start from this SSM-SAM model (.safetensors or .pth; its lslr.* rates too when they have --steps steps) instead of fresh heads on --base.") var initModel: String?
    @Option(help: "Write the episodes of --epochs epochs (and their slices, PLAN.inputs.safetensors) as an episode plan and stop: the same episodes for `meta-train --plan` and scripts/twin_meta_train.py.") var planOut: String?
    @Option(help: "Train on an episode plan (its data, settings and episodes; --init or the plan's initial model, else fresh heads on its base and seed).") var plan: String?

    func run() throws {
        try CLIErrors.report {
            guard setting == 1 || setting == 2 else { throw ValidationError("--setting \(setting): expected 1 or 2") }
            if let planOut {
                if calibrateRates != nil { throw ValidationError("--calibrate-rates: not with --plan-out (the twin starts from the plan's rates)") }
                return try writePlan(to: URL(fileURLWithPath: planOut))
            }
            guard let out else { throw ValidationError("give --out RUN") }
            if plan != nil && (trainingOrgans != nil || testOrgan != nil) {
                throw ValidationError("--plan carries its own test and training organs: leave out \(testOrgan != nil ? "--test-organ" : "--training-organs")")
            }
            let planned = try plan.map { try PlanInput(URL(fileURLWithPath: $0)) }
            // The organs resolved before the run folder exists, so a misspelt organ leaves nothing behind.
            let task = try planned == nil ? organTask() : nil
            let run = URL(fileURLWithPath: out)
            let stateURL = run.appendingPathComponent("state.safetensors")
            try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
            if !resume && FileManager.default.fileExists(atPath: stateURL.path) {
                throw ValidationError("\(stateURL.path) exists: pass --resume to continue it, or choose another --out")
            }
            let config = planned?.plan.metaLearner ?? learnerConfig()
            if calibrateEachStep && calibrateRates == nil {
                throw ValidationError("--calibrate-each-step: give the step size too (--calibrate-rates ETA)")
            }
            if calibrateRates != nil && (planned != nil || noMeta) {
                throw ValidationError("--calibrate-rates: not with \(noMeta ? "--no-meta (it learns no rates)" : "--plan (the plan's twin starts from the plan's rates)")")
            }
            let (model, initialRates, baseID) = try startingModel(config: config, plan: planned?.plan)
            let cache = try FeatureCache(baseID: baseID, directory: run.appendingPathComponent("features"))
            let source = try task.map { try episodeSource(task: $0, model: model, cache: cache) }
            var rates = initialRates
            if let eta = calibrateRates, !resume, let source {
                // The first meta-batch the run trains on; the episode streams are stateless, so training is unchanged.
                rates = try RateCalibration.rates(model: model, episodes: try MetaLearner.batch(0, epoch: 0, of: source, config: config),
                                                  steps: config.innerSteps, stepSize: eta, plainBCE: config.plainBCE,
                                                  eachStep: calibrateEachStep)
                let values = rates!.names.indices.map { rates!.rate($0, step: 0) }.sorted()
                print("rates calibrated: \(calibrateEachStep ? "every" : "first") inner step of RMS "
                      + String(format: "%.3g per tensor; alpha %.3g (min) .. %.3g (median) .. %.3g (max)", eta, values.first!,
                               values[values.count / 2], values.last!) + (calibrateEachStep ? " at step 0" : ""))
            }
            let learner = try MetaLearner(model: model, config: config, rates: rates)
            if resume {
                try learner.restore(try TrainingState.read(stateURL))
                print("resumed \(stateURL.path) after epoch \(learner.epoch)")
            }
            let episodes = try planned.map { try $0.episodes(model: model, cache: cache) }
            if let source, !source.excludedOrgans.isEmpty { print("no training data for: \(source.excludedOrgans.joined(separator: ", "))") }
            // Held-out chunks of the training organs; an episode plan carries training episodes only.
            let validation = try source?.validationEpisodes() ?? []
            if source != nil {
                print(validation.isEmpty ? "validation: none (\(validationEvery == 0 ? "--validation-every 0" : "no organ range has \(validationEvery) chunks")); the model is the last epoch"
                      : "validation: \(validation.count) held-out chunks (every \(ordinal(validationEvery)) chunk of each range) of \(Set(validation.map(\.organ)).sorted().joined(separator: ", "))")
            }
            func save(to name: String) throws {
                // Without meta-learning there are no learned rates: the model is adapted by fine-tuning.
                if config.ratesFrozen == true { try SSMSAMStore.save(model, to: run.appendingPathComponent(name)) } else {
                    try MetaModelFile.save(model, rates: learner.rates, to: run.appendingPathComponent(name))
                }
            }
            let (testOrgan, trainingOrgans) = source.map { ($0.task.testOrgan, $0.organs) } ?? (planned!.plan.testOrgan, planned!.plan.trainingOrgans)
            print("tasks: \(trainingOrgans.joined(separator: ", ")); test organ \(testOrgan) held out" + (plan.map { "; episodes of \($0)" } ?? ""))
            let start = Date(), first = learner.epoch
            while learner.epoch < config.epochs {
                let e = learner.epoch
                let r = try source.map { try learner.trainEpoch($0) } ?? learner.trainEpoch { try episodes!.batch(epoch: e, batch: $0) }
                var line = ""
                if validation.isEmpty {
                    try save(to: "model.safetensors")
                } else {
                    let v = try learner.validate(validation)
                    learner.recordValidation(v)
                    let best = learner.bestValidatedEpoch!
                    // The models before the state: a run killed between them redoes this epoch on resume.
                    try save(to: "last.safetensors")
                    if best.epoch == r.epoch { try save(to: "model.safetensors") }
                    line = String(format: "  val Dice %.4f (best %.4f, epoch %d)", v.dice, best.validation!.dice, best.epoch + 1)
                }
                try learner.state().write(to: stateURL)
                // The curves so far: outer (red), query (blue) and support (green) loss; validation Dice (orange) apart,
                // on its own scale.
                let h = learner.history
                try ImageIO.writePNG(LineChart.render([
                    .init(h.map { Double($0.outerLoss) }, colour: .red, label: "outer loss"),
                    .init(h.map { Double($0.queryLoss) }, colour: RGB(40, 90, 220), label: "query loss"),
                    .init(h.map { Double($0.supportLoss) }, colour: .green, label: "support loss")], xLabel: "epoch"),
                    to: run.appendingPathComponent("loss.png"))
                if !validation.isEmpty {
                    try ImageIO.writePNG(LineChart.render([.init(h.map { Double($0.validation?.dice ?? .nan) }, colour: RGB(240, 140, 20),
                                                                 label: "validation dice")], xLabel: "epoch"),
                                         to: run.appendingPathComponent("validation.png"))
                }
                let elapsed = Date().timeIntervalSince(start), done = learner.epoch - first
                let left = elapsed / Double(done) * Double(config.epochs - learner.epoch)
                print(String(format: "epoch %d/%d  support %.4f  query %.4f  outer %.4f  lr %.3g  %.0f s, about %.0f s left",
                             r.epoch + 1, config.epochs, r.supportLoss, r.queryLoss, r.outerLoss, r.learningRate, elapsed, left) + line)
            }
            // The run's record (protocol.md): what was trained on, how, and which checkpoint is the model.
            var record: [String: Any] = [
                "toolkit": ToolkitVersion.string, "processor": CPUInfo.host.summary, "base": planned?.plan.base ?? base,
                "data": planned?.data ?? data.map { ["dataset": $0] } ?? ["volume": volume ?? "", "labels": labels ?? ""],
                "label_map": planned?.plan.labelMap ?? preset, "intensity": planned?.plan.intensity ?? intensity, "test_organ": testOrgan,
                "training_organs": trainingOrgans, "setting": planned?.plan.setting ?? setting, "meta_learning": config.ratesFrozen != true,
                "fmad": model.config.fmad, "fmad_keys": model.config.fmadKeys.rawValue, "epochs": config.epochs, "inner_steps": config.innerSteps, "inner_rate_init": Double(config.innerRate),
                "tasks_per_batch": config.tasksPerBatch, "query_shots": config.queryShots, "chunks": planned?.plan.chunks ?? chunks, "seed": Int(config.seed),
                "checkpoint": learner.bestValidatedEpoch.map { best -> Any in
                    ["model": "model.safetensors", "rule": "best validation Dice over the epochs (every \(ordinal(validationEvery)) chunk of each training organ held out; the test organ never used)",
                     "epoch": best.epoch, "validation_dice": Double(best.validation!.dice), "last": "last.safetensors"] as [String: Any]
                } ?? "last epoch (no validation split; model selection never looks at the test organ)",
                "wall_seconds_this_invocation": Date().timeIntervalSince(start),
                "history": learner.history.map { ["epoch": $0.epoch, "outer_loss": Double($0.outerLoss), "query_loss": Double($0.queryLoss),
                                                  "support_loss": Double($0.supportLoss), "learning_rate": Double($0.learningRate)]
                    .merging($0.validation.map { ["validation_dice": Double($0.dice), "validation_loss": Double($0.loss),
                                                  "validation_organs": $0.organs.mapValues(Double.init)] } ?? [:]) { a, _ in a } },
            ]
            if let planned { (record["plan"], record["plan_sha256"]) = (planned.url.path, planned.sha256) }
            // The rates started from the gradients' scale instead of inner_rate_init (RateCalibration).
            if let eta = calibrateRates {
                record["inner_rate_calibration"] = ["first_step_rms": Double(eta), "each_step": calibrateEachStep,
                    "rule": calibrateEachStep
                        ? "alpha[s] = first_step_rms / rms of each tensor's support gradient after s inner steps with alpha[0..<s], on the first meta-batch (floored at 1e-3 of the median tensor's)"
                        : "alpha = first_step_rms / rms of each tensor's support gradient on the first meta-batch (floored at 1e-3 of the median tensor's)"]
            }
            if let i = initModel ?? planned?.plan.initialModel?.path { record["init"] = i }
            try AtomicFile.write(try JSONSerialization.data(withJSONObject: record, options: [.prettyPrinted, .sortedKeys]),
                                 to: run.appendingPathComponent("run.json"))
            print("wrote \(run.path)/model.safetensors" + (validation.isEmpty ? "" : " (the best validated epoch), last.safetensors, validation.png")
                  + ", state.safetensors, loss.png and run.json")
        }
    }

    /// "2nd", "3rd", "4th", ...: the held-out chunks in words.
    private func ordinal(_ n: Int) -> String {
        let suffix = (11...13).contains(n % 100) ? "th" : [1: "st", 2: "nd", 3: "rd"][n % 10] ?? "th"
        return "\(n)\(suffix)"
    }

    /// The training volumes: one (--volume, --labels) pair or every case of --data.
    func loadVolumes() throws -> [(image: Volume, labels: LabelVolume)] {
        switch (volume, labels, data) {
        case let (v?, l?, nil):
            let image = try VolumeReader.read(URL(fileURLWithPath: v))
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
