import Diagnostics
import MedicalData
import SAM
import SSMSAM
import TensorCore

/// Training episodes from labelled volumes under the few-shot protocol (MedicalData's protocol layer): the
/// task's training organs on the slices the setting allows (`TrainingSlices`), a slice range cut into chunks
/// (`ChunkPlan`), a chunk's centre slice as the support (a self pair for the inner loop) and other slices of
/// the same chunk as queries, predicted from that centre. The test organ is never a target: only training
/// organs' masks are cut (`TrainingSlices.mask`).
///
/// Per episode: a volume showing the organ (uniformly), K distinct chunks of the organ's range there (with
/// repetition only when there are fewer), each chunk's support = its centre (or the allowed slice nearest
/// to it), and K' queries dealt round-robin over the K chunks, drawn without replacement from the chunk's
/// other allowed slices showing the organ. All choices come from the generator passed in.
///
/// Validation: with `validationEvery` = N >= 2, every N-th chunk of each training organ's range in each volume
/// (chunks N-1, 2N-1, ...) is held out: no training episode draws its slices, and `validationEpisodes` are made
/// of them alone. The test organ is never among them.
public final class VolumeEpisodeSource: EpisodeSource {
    public let task: OrganTask
    public let setting: TrainingSetting
    public let chunks: Int
    public let model: SSMSAMModel
    /// The cheap path's feature cache (nil: features computed for every use).
    public let cache: FeatureCache?
    /// Every `validationEvery`-th chunk is held out for validation (0: none).
    public let validationEvery: Int
    private let volumes: [(image: Volume, labels: LabelVolume)]
    private let labelMap: LabelMap
    private let preset: IntensityPreset
    private let predictor: SSMSAMPredictor
    /// Per training organ, per volume: the allowed slices showing the organ, ascending.
    private let slices: [String: [[Int]]]
    private var ranges: [Int: (low: Float, high: Float)] = [:]

    /// A source on the training split `volumes` (images and labels on the same grid) for `task` under
    /// `setting`, ranges cut into `chunks` chunks (fewer when an organ shows on fewer slices), every
    /// `validationEvery`-th chunk held out for validation (0: none; else at least 2).
    public init(volumes: [(image: Volume, labels: LabelVolume)], task: OrganTask, setting: TrainingSetting, labelMap: LabelMap,
                preset: IntensityPreset, chunks: Int, model: SSMSAMModel, cache: FeatureCache? = nil, validationEvery: Int = 0) throws {
        guard chunks >= 1 else { throw ToolkitError(.invalidArgument, subject: "episodes", "chunks must be >= 1, got \(chunks)") }
        guard validationEvery == 0 || validationEvery >= 2 else {
            throw ToolkitError(.invalidArgument, subject: "episodes", "validation must hold out every N-th chunk with N >= 2 (or 0 for none), got \(validationEvery)")
        }
        guard !volumes.isEmpty else { throw ToolkitError(.invalidArgument, subject: "episodes", "no training volumes") }
        for v in volumes { try GridCheck.require(v.labels, matches: v.image) }
        let selected = try TrainingSlices.select(volumes.map(\.labels), task: task, setting: setting, labelMap: labelMap)
        var slices: [String: [[Int]]] = [:]
        for organ in task.trainingOrgans {
            slices[organ] = volumes.indices.map { v in selected.filter { $0.volume == v && $0.organs.contains(organ) }.map(\.slice) }
        }
        let usable = task.trainingOrgans.filter { o in slices[o]!.contains { $0.count >= 2 } }
        guard !usable.isEmpty else {
            throw ToolkitError(.invalidLabels, subject: "episodes", "no training organ of the task (test organ \(task.testOrgan)) shows on 2 or more allowed slices of a volume (\(setting.rawValue))")
        }
        organs = usable
        excludedOrgans = task.trainingOrgans.filter { !usable.contains($0) }
        (self.task, self.setting, self.chunks, self.model, self.cache) = (task, setting, chunks, model, cache)
        self.validationEvery = validationEvery
        (self.volumes, self.labelMap, self.preset, self.slices) = (volumes, labelMap, preset, slices)
        predictor = SSMSAMPredictor(model: model, cache: cache)
    }

    /// The training organs with data: each shows on 2 or more allowed slices of some volume.
    public let organs: [String]
    /// Training organs left out because no volume shows them on 2 allowed slices (Setting 2 removes every
    /// slice of the test organ, which can take a whole organ with it).
    public let excludedOrgans: [String]

    public func episode(organ: String, supportShots: Int, queryShots: Int, generator rng: inout SeededGenerator) throws -> TrainingEpisode {
        try episode(from: try draw(organ: organ, supportShots: supportShots, queryShots: queryShots, generator: &rng))
    }

    /// The slices and points of an episode, drawn from the generator exactly as `episode` draws them, without
    /// computing any features (an episode plan's task).
    public func draw(organ: String, supportShots: Int, queryShots: Int, generator rng: inout SeededGenerator) throws -> EpisodeDraw {
        guard let perVolume = slices[LabelMap.normalise(organ)], organs.contains(LabelMap.normalise(organ)) else {
            let why = excludedOrgans.contains(LabelMap.normalise(organ)) ? "has no 2 allowed slices in any volume (\(setting.rawValue))"
                : "is not a training organ of the task (test organ \(task.testOrgan))"
            throw ToolkitError(.invalidArgument, subject: "episodes", "'\(organ)' \(why)")
        }
        let candidates = perVolume.indices.filter { perVolume[$0].count >= 2 }
        let v = candidates[Int(rng.next() % UInt64(candidates.count))]
        // Chunks of the organ's range with a support and at least one query among the allowed slices, held-out ones left out.
        let plan = try usableChunks(perVolume[v]).filter { !$0.heldOut }
        guard !plan.isEmpty else {
            throw ToolkitError(.invalidLabels, subject: volumes[v].labels.source, "no training chunk of \(organ) has two allowed slices; use fewer chunks")
        }
        var pool: [Int] = [], chosen: [Int] = []
        for _ in 0..<supportShots {
            if pool.isEmpty { pool = Array(plan.indices) }
            chosen.append(pool.remove(at: Int(rng.next() % UInt64(pool.count))))
        }
        var queryPools = chosen.map { plan[$0].queries }
        var supports: [EpisodeDraw.Support] = []
        for c in chosen {
            supports.append(.init(slice: plan[c].support, points: try supportPoints(volume: v, slice: plan[c].support, organ: organ, seed: rng.next())))
        }
        var queries: [EpisodeDraw.Query] = []
        for i in 0..<queryShots {
            let k = i % chosen.count
            if queryPools[k].isEmpty { queryPools[k] = plan[chosen[k]].queries }
            let q = queryPools[k].remove(at: Int(rng.next() % UInt64(queryPools[k].count)))
            let c = plan[chosen[k]].slices
            queries.append(.init(slice: q, support: k, chunk: [c.lowerBound, c.upperBound]))
        }
        return EpisodeDraw(organ: LabelMap.normalise(organ), volume: v, supports: supports, queries: queries)
    }

    /// The chunks of an organ's range over `allowed` slices that have a support (the allowed slice nearest the
    /// centre) and at least one other allowed slice, each marked held out for validation or not.
    private func usableChunks(_ allowed: [Int]) throws -> [(support: Int, queries: [Int], slices: ClosedRange<Int>, heldOut: Bool)] {
        let allowedSet = Set(allowed), range = allowed.first!...allowed.last!
        return try ChunkPlan.sameVolume(range, chunks: Swift.min(chunks, range.count)).enumerated().compactMap { i, c in
            let inChunk = c.slices.filter(allowedSet.contains)
            guard let support = inChunk.min(by: { abs($0 - c.support) < abs($1 - c.support) }) else { return nil }
            let queries = inChunk.filter { $0 != support }
            return queries.isEmpty ? nil : (support, queries, c.slices, validationEvery > 0 && (i + 1) % validationEvery == 0)
        }
    }

    /// The validation episodes: per training organ and volume, each held-out chunk with its support and up to
    /// `queriesPerChunk` of its other slices (evenly spaced), points picked with a fixed seed. The same episodes
    /// every call; empty when nothing is held out.
    public func validationEpisodes(queriesPerChunk: Int = 3) throws -> [TrainingEpisode] {
        guard validationEvery > 0 else { return [] }
        var draws: [EpisodeDraw] = []
        for organ in organs {
            for (v, allowed) in slices[organ]!.enumerated() where allowed.count >= 2 {
                for c in try usableChunks(allowed) where c.heldOut {
                    let points = try supportPoints(volume: v, slice: c.support, organ: organ, seed: UInt64(c.support))
                    let n = Swift.min(queriesPerChunk, c.queries.count)
                    let picked = (0..<n).map { c.queries[$0 * c.queries.count / n] }
                    draws.append(EpisodeDraw(organ: organ, volume: v, supports: [.init(slice: c.support, points: points)],
                                             queries: picked.map { .init(slice: $0, support: 0, chunk: [c.slices.lowerBound, c.slices.upperBound]) }))
                }
            }
        }
        return try draws.map(episode(from:))
    }

    /// The self-sampler's points on a support slice, picked from its organ mask with `seed`.
    private func supportPoints(volume v: Int, slice k: Int, organ: String, seed: UInt64) throws -> [SamplerPoint] {
        let s = try displaySlice(volume: v, slice: k, organ: organ)
        let mask = try frameMask(s.mask, width: s.width, height: s.height)
        let valid = predictor.preprocessing.resizedSize(height: s.height, width: s.width)
        return FewShotPair.points(mask, model: model, valid: valid, seed: seed)
    }

    /// The episode of a draw: each slice's features, masks and labels, the drawn points.
    public func episode(from d: EpisodeDraw) throws -> TrainingEpisode {
        var support: [FewShotPair] = [], references: [(features: SliceFeatures, mask: Tensor, points: [SamplerPoint])] = []
        for s in d.supports {
            let p = try prepare(volume: d.volume, slice: s.slice, organ: d.organ)
            support.append(.selfPair(p.features, mask: p.mask, label: p.label, points: s.points))
            references.append((p.features, p.mask, s.points))
        }
        var queries: [FewShotPair] = []
        for q in d.queries {
            let t = try prepare(volume: d.volume, slice: q.slice, organ: d.organ)
            let r = references[q.support]
            queries.append(FewShotPair(target: t.features, label: t.label, reference: r.features, referenceMask: r.mask, points: r.points))
        }
        let origin = EpisodeOrigin(volume: d.volume, supportSlices: d.supports.map(\.slice), querySlices: d.queries.map(\.slice),
                                   queryChunks: d.queries.map { $0.chunk[0]...$0.chunk[1] })
        return TrainingEpisode(organ: d.organ, support: support, queries: queries, origin: origin)
    }

    /// A slice as 8-bit grey in display layout (the preset's range over the whole volume) and the organ's
    /// binary mask (0 / 1) in the same layout: what an episode plan stores.
    public func displaySlice(volume v: Int, slice k: Int, organ: String) throws -> (grey: [UInt8], mask: [UInt8], width: Int, height: Int) {
        let (image, labels) = volumes[v]
        let range = ranges[v] ?? preset.range(for: image)
        ranges[v] = range
        let s = try image.slice(k)
        let grey = SliceRenderer.display(preset.apply(s.values, range: range), width: s.width, height: s.height)
        let binary = try TrainingSlices.mask(labels, slice: k, organ: organ, task: task, labelMap: labelMap)
        return (grey, SliceRenderer.display(binary, width: s.width, height: s.height).map { $0 > 0 ? 1 : 0 }, s.width, s.height)
    }

    /// SAM's model input (1, 3, S, S) of a grey slice in display layout.
    public func modelInput(grey: [UInt8], width: Int, height: Int) throws -> Tensor {
        try predictor.input(rgb: grey.flatMap { [$0, $0, $0] }, width: width, height: height).input
    }

    /// A binary mask (display layout, nonzero inside) in the model's frame (1, 1, S, S).
    public func frameMask(_ mask: [UInt8], width: Int, height: Int) throws -> Tensor {
        try predictor.frameMask(mask.map { $0 > 0 }, width: width, height: height, name: "mask")
    }

    /// A slice's features, its organ mask in the model's frame, the mask at the loss's resolution.
    private func prepare(volume v: Int, slice k: Int, organ: String) throws -> (features: SliceFeatures, mask: Tensor, label: Tensor) {
        let s = try displaySlice(volume: v, slice: k, organ: organ)
        let mask = try predictor.frameMask(s.mask.map { $0 > 0 }, width: s.width, height: s.height, name: "\(organ) mask of slice \(k)")
        return (try SliceFeatures.of(try modelInput(grey: s.grey, width: s.width, height: s.height), model: model, cache: cache), mask,
                try FewShotPair.lossLabel(mask, grid: model.grid))
    }
}
