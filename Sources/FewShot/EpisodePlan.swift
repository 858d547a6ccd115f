import Diagnostics
import Formats
import Foundation
import MedicalData
import SAM
import SSMSAM
import TensorCore

/// A meta-training run's episodes written down (`ssmsam meta-train ... --plan-out PLAN.json`), so that the toolkit
/// (`meta-train --plan`) and the PyTorch twin (`scripts/twin_meta_train.py --plan`) train on identical episodes.
/// Format in Formats/FORMATS.md ("Episode plan"). Per epoch and meta-batch: each task's organ, volume, support
/// slices with the self-sampler's points, and query slices (each with its support and chunk). The slices are in
/// the inputs file beside the plan (`PLAN.inputs.safetensors`): 8-bit grey in display layout (`grey.v<V>.s<K>`,
/// the intensity preset applied over the whole volume) and each organ's binary mask in the same layout
/// (`mask.v<V>.s<K>.<organ>`, the test organ never among them). Both sides build the model inputs from these
/// with SAM's preprocessing, and check them against the SHA-256 of the float32 model input and frame mask
/// recorded here, so the inputs are bit-identical or the run stops.
public struct EpisodePlan: Codable, Equatable {
    public static let formatName = "ssmsam-episode-plan"
    public var format = formatName
    public var version = 1
    public var toolkit: String
    /// The SAM base (as given to meta-train) and the initial model, when one was given (`--init`).
    public var base: String
    public var initialModel: FileRecord?
    /// The seed of fresh heads when there is no initial model, and whether they have FMAM blocks.
    public var headSeed: UInt64
    public var fmad: Bool
    /// FMAM's key features of fresh heads; nil in a plan written before the choice existed (`FMADKeys.unrecorded`).
    public var fmadKeys: FMADKeys?
    public var metaLearner: MetaLearnerConfig
    public var testOrgan: String
    public var trainingOrgans: [String]
    public var setting: Int
    public var chunks: Int
    public var labelMap: String
    public var labelIds: [String: Int]
    public var intensity: String
    public var volumes: [VolumeRecord]
    public var inputs: Inputs
    public var slices: [SliceRecord]
    public var masks: [MaskRecord]
    public var epochs: [Epoch]

    enum CodingKeys: String, CodingKey {
        case format, version, toolkit, base, initialModel = "init", headSeed = "head_seed", fmad, fmadKeys = "fmad_keys", metaLearner = "meta_learner"
        case testOrgan = "test_organ", trainingOrgans = "training_organs", setting, chunks, labelMap = "label_map"
        case labelIds = "label_ids", intensity, volumes, inputs, slices, masks, epochs
    }

    public struct FileRecord: Codable, Equatable {
        public var path: String, sha256: String
        public init(path: String, sha256: String) { (self.path, self.sha256) = (path, sha256) }
    }

    public struct VolumeRecord: Codable, Equatable {
        public var image: String, imageSHA256: String, labels: String, labelsSHA256: String
        enum CodingKeys: String, CodingKey { case image, imageSHA256 = "image_sha256", labels, labelsSHA256 = "labels_sha256" }
        public init(image: String, imageSHA256: String, labels: String, labelsSHA256: String) {
            (self.image, self.imageSHA256, self.labels, self.labelsSHA256) = (image, imageSHA256, labels, labelsSHA256)
        }
    }

    public struct Inputs: Codable, Equatable {
        /// The inputs file, relative to the plan's folder, and its SHA-256.
        public var file: String, sha256: String
        public var imageSize: Int
        public var preprocessing: String
        enum CodingKeys: String, CodingKey { case file, sha256, imageSize = "image_size", preprocessing }
    }

    public struct SliceRecord: Codable, Equatable {
        public var name: String, volume: Int, slice: Int, width: Int, height: Int
        /// SHA-256 of the model input (1, 3, S, S) as float32 little-endian bytes.
        public var inputSHA256: String
        enum CodingKeys: String, CodingKey { case name, volume, slice, width, height, inputSHA256 = "input_sha256" }
    }

    public struct MaskRecord: Codable, Equatable {
        public var name: String, volume: Int, slice: Int, organ: String
        /// SHA-256 of the frame mask (1, 1, S, S) as float32 little-endian bytes.
        public var frameSHA256: String
        enum CodingKeys: String, CodingKey { case name, volume, slice, organ, frameSHA256 = "frame_sha256" }
    }

    public struct Epoch: Codable, Equatable {
        public var epoch: Int
        public var batches: [Batch]
    }

    public struct Batch: Codable, Equatable {
        public var batch: Int
        public var tasks: [EpisodeDraw]
    }

    public static func sliceName(volume: Int, slice: Int) -> String { "v\(volume).s\(slice)" }
    public static func maskName(volume: Int, slice: Int, organ: String) -> String { "\(sliceName(volume: volume, slice: slice)).\(organ)" }

    /// What the inputs are and how both sides turn them into model inputs.
    public static let preprocessingText = "grey.*: uint8 (H, W), the slice in display layout after the intensity preset; repeated to RGB, "
        + "Pillow bilinear resize of the longest side to image_size, (x - mean) / std in float32 with SAM's pixel mean and std, "
        + "zero padding right and bottom. mask.*: uint8 (H, W) in {0, 1}, the organ in display layout; nearest neighbour at "
        + "pixel centres (row r <- min(H - 1, floor((r + 0.5) H / h))), zero padding. Checked against input_sha256 / frame_sha256."

    // MARK: Writing

    /// The plan of `epochs` epochs of `config` on `source` (drawn exactly as `MetaLearner.trainEpoch` draws them)
    /// and its inputs. `digest` is SHA-256 as lowercase hex; `inputsFile` the inputs' file name.
    public static func make(source: VolumeEpisodeSource, config: MetaLearnerConfig, inputsFile: String,
                            digest: (Data) -> String, describe: (inout EpisodePlan) throws -> Void) throws
        -> (plan: EpisodePlan, inputs: StateDict) {
        var epochs: [Epoch] = []
        var inputs = StateDict(), slices: [SliceRecord] = [], masks: [MaskRecord] = []
        let size = source.model.config.base.encoder.imageSize
        for e in 0..<config.epochs {
            var batches: [Batch] = []
            for b in 0..<config.batchesPerEpoch {
                let draws = try MetaLearner.draw(source, config: config, epoch: e, batch: b)
                for d in draws {
                    for k in d.supports.map(\.slice) + d.queries.map(\.slice) {
                        let n = sliceName(volume: d.volume, slice: k), m = maskName(volume: d.volume, slice: k, organ: d.organ)
                        guard inputs["mask.\(m)"] == nil else { continue }
                        let s = try source.displaySlice(volume: d.volume, slice: k, organ: d.organ)
                        if inputs["grey.\(n)"] == nil {
                            inputs["grey.\(n)"] = .init(dtype: .u8, shape: [s.height, s.width], bytes: Data(s.grey))
                            slices.append(.init(name: n, volume: d.volume, slice: k, width: s.width, height: s.height,
                                                inputSHA256: digest(bytes(try source.modelInput(grey: s.grey, width: s.width, height: s.height)))))
                        }
                        inputs["mask.\(m)"] = .init(dtype: .u8, shape: [s.height, s.width], bytes: Data(s.mask))
                        masks.append(.init(name: m, volume: d.volume, slice: k, organ: d.organ,
                                           frameSHA256: digest(bytes(try source.frameMask(s.mask, width: s.width, height: s.height)))))
                    }
                }
                batches.append(Batch(batch: b, tasks: draws))
            }
            epochs.append(Epoch(epoch: e, batches: batches))
        }
        var plan = EpisodePlan(toolkit: "", base: "", initialModel: nil, headSeed: config.seed, fmad: source.model.config.fmad,
                               fmadKeys: source.model.config.fmadKeys,
                               metaLearner: config, testOrgan: source.task.testOrgan, trainingOrgans: source.organs,
                               setting: source.setting == .setting1 ? 1 : 2, chunks: source.chunks, labelMap: "", labelIds: [:],
                               intensity: "", volumes: [],
                               inputs: Inputs(file: inputsFile, sha256: "", imageSize: size, preprocessing: preprocessingText),
                               slices: slices, masks: masks, epochs: epochs)
        try describe(&plan)
        return (plan, inputs)
    }

    /// A float32 tensor's little-endian bytes (what the SHA-256 of inputs and masks is taken over).
    public static func bytes(_ t: Tensor) -> Data { t.data.withUnsafeBytes { Data($0) } }

    // MARK: Reading

    /// A plan from its JSON; errors name the file.
    public static func read(_ url: URL) throws -> EpisodePlan {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ToolkitError(.missingFile, subject: url.path, "cannot read the episode plan: \(error.localizedDescription)")
        }
        let plan: EpisodePlan
        do { plan = try JSONDecoder().decode(EpisodePlan.self, from: data) } catch {
            throw ToolkitError(.invalidFile, subject: url.path, "not an episode plan: \(error)")
        }
        guard plan.format == formatName, plan.version == 1 else {
            throw ToolkitError(.unsupported, subject: url.path, "format \(plan.format) version \(plan.version), expected \(formatName) 1")
        }
        guard plan.epochs.count == plan.metaLearner.epochs,
              plan.epochs.enumerated().allSatisfy({ $1.epoch == $0 && $1.batches.count == plan.metaLearner.batchesPerEpoch }) else {
            throw ToolkitError(.invalidFile, subject: url.path, "plans \(plan.epochs.count) epochs, expected \(plan.metaLearner.epochs) of \(plan.metaLearner.batchesPerEpoch) meta-batches")
        }
        return plan
    }

    /// The plan as JSON (sorted keys).
    public func json() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try e.encode(self)
    }
}

/// One planned task: the draws of `VolumeEpisodeSource.draw` (volume, supports with their points, queries).
public struct EpisodeDraw: Codable, Equatable {
    public struct Support: Codable, Equatable {
        public var slice: Int
        public var points: [SamplerPoint]
    }
    public struct Query: Codable, Equatable {
        public var slice: Int
        /// Index into `supports`: the support the query is predicted from.
        public var support: Int
        /// The chunk's slice range [first, last].
        public var chunk: [Int]
    }
    public var organ: String
    public var volume: Int
    public var supports: [Support]
    public var queries: [Query]
}

extension MetaLearner {
    /// The tasks of meta-batch `batch` of epoch `epoch`, drawn from the stream `trainEpoch` uses, without features.
    public static func draw(_ source: VolumeEpisodeSource, config: MetaLearnerConfig, epoch: Int, batch: Int) throws -> [EpisodeDraw] {
        var rng = generator(seed: config.seed, epoch: epoch, batch: batch)
        return try sample(source.organs, count: config.tasksPerBatch, generator: &rng).map {
            try source.draw(organ: $0, supportShots: config.supportShots, queryShots: config.queryShots, generator: &rng)
        }
    }
}

/// The training episodes of a plan, from its inputs file: model inputs and frame masks built with SAM's
/// preprocessing and checked against the plan's SHA-256s, the points as planned.
public final class PlanEpisodes {
    public let plan: EpisodePlan
    public let model: SSMSAMModel
    private let inputs: StateDict
    private let predictor: SSMSAMPredictor
    private let cache: FeatureCache?
    private let digest: (Data) -> String
    private let file: String
    private var features: [String: SliceFeatures] = [:]
    private var frames: [String: Tensor] = [:]
    private let sliceRecords: [String: EpisodePlan.SliceRecord], maskRecords: [String: EpisodePlan.MaskRecord]

    public init(plan: EpisodePlan, inputs: StateDict, inputsFile: String, model: SSMSAMModel, cache: FeatureCache?,
                digest: @escaping (Data) -> String) throws {
        guard plan.inputs.imageSize == model.config.base.encoder.imageSize else {
            throw ToolkitError(.mismatch, subject: inputsFile, "planned for image size \(plan.inputs.imageSize), the model has \(model.config.base.encoder.imageSize)")
        }
        (self.plan, self.inputs, self.model, self.cache, self.digest, file) = (plan, inputs, model, cache, digest, inputsFile)
        predictor = SSMSAMPredictor(model: model, cache: cache)
        sliceRecords = Dictionary(plan.slices.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        maskRecords = Dictionary(plan.masks.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// The episodes of meta-batch `batch` of epoch `epoch`.
    public func batch(epoch: Int, batch: Int) throws -> [TrainingEpisode] {
        guard epoch < plan.epochs.count, batch < plan.epochs[epoch].batches.count else {
            throw ToolkitError(.invalidArgument, subject: file, "the plan has no meta-batch \(batch) of epoch \(epoch)")
        }
        return try plan.epochs[epoch].batches[batch].tasks.map(episode)
    }

    private func bytes(_ name: String, width: Int, height: Int) throws -> [UInt8] {
        guard let t = inputs[name], t.dtype == .u8, t.shape == [height, width] else {
            throw ToolkitError(.mismatch, subject: file, "\(name): expected uint8 [\(height), \(width)], got \(inputs[name].map { "\($0.dtype.rawValue) \($0.shape)" } ?? "no tensor")")
        }
        return [UInt8](t.bytes)
    }

    private func slice(_ v: Int, _ k: Int) throws -> (features: SliceFeatures, record: EpisodePlan.SliceRecord) {
        let name = EpisodePlan.sliceName(volume: v, slice: k)
        guard let r = sliceRecords[name] else { throw ToolkitError(.invalidFile, subject: file, "the plan lists no slice \(name)") }
        if let f = features[name] { return (f, r) }
        let grey = try bytes("grey.\(name)", width: r.width, height: r.height)
        let input = try predictor.input(rgb: grey.flatMap { [$0, $0, $0] }, width: r.width, height: r.height).input
        let hash = digest(EpisodePlan.bytes(input))
        guard hash == r.inputSHA256 else {
            throw ToolkitError(.mismatch, subject: file, "the model input of \(name) has sha256 \(hash), the plan \(r.inputSHA256)")
        }
        let f = try SliceFeatures.of(input, model: model, cache: cache)
        features[name] = f
        return (f, r)
    }

    private func mask(_ v: Int, _ k: Int, _ organ: String, _ s: EpisodePlan.SliceRecord) throws -> Tensor {
        let name = EpisodePlan.maskName(volume: v, slice: k, organ: organ)
        if let m = frames[name] { return m }
        guard let r = maskRecords[name] else { throw ToolkitError(.invalidFile, subject: file, "the plan lists no mask \(name)") }
        let m = try predictor.frameMask(try bytes("mask.\(name)", width: s.width, height: s.height).map { $0 > 0 },
                                        width: s.width, height: s.height, name: name)
        let hash = digest(EpisodePlan.bytes(m))
        guard hash == r.frameSHA256 else {
            throw ToolkitError(.mismatch, subject: file, "the frame mask \(name) has sha256 \(hash), the plan \(r.frameSHA256)")
        }
        frames[name] = m
        return m
    }

    private func episode(_ d: EpisodeDraw) throws -> TrainingEpisode {
        var refs: [(features: SliceFeatures, mask: Tensor, points: [SamplerPoint])] = [], support: [FewShotPair] = []
        for s in d.supports {
            let (f, r) = try slice(d.volume, s.slice)
            let m = try mask(d.volume, s.slice, d.organ, r)
            support.append(.selfPair(f, mask: m, label: try FewShotPair.lossLabel(m, grid: model.grid), points: s.points))
            refs.append((f, m, s.points))
        }
        let queries = try d.queries.map { q -> FewShotPair in
            guard refs.indices.contains(q.support) else {
                throw ToolkitError(.invalidFile, subject: file, "a query of \(d.organ) names support \(q.support) of \(refs.count)")
            }
            let (f, r) = try slice(d.volume, q.slice)
            let ref = refs[q.support]
            return FewShotPair(target: f, label: try FewShotPair.lossLabel(try mask(d.volume, q.slice, d.organ, r), grid: model.grid),
                               reference: ref.features, referenceMask: ref.mask, points: ref.points)
        }
        return TrainingEpisode(organ: d.organ, support: support, queries: queries)
    }
}
