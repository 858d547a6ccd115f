import Diagnostics
import FileIO
import Foundation
import Imaging
import MedicalData

/// The protocol's 1-shot evaluation of one test volume (protocol.md): per organ, the organ's slice range in C
/// chunks, each chunk's support (centre slice and its mask, from this volume or a separate one) and its
/// queries; every method segments every query of every chunk from the support alone; 3-D Dice per organ and
/// method through `DiceScorer` (the only holder of query labels). Writes into the output folder:
/// `record.json`, `prediction_<organ>.nii.gz` (the primary method) and `prediction_<organ>_<method>.nii.gz`
/// (the others) on the input's grid and header, and `panels/<organ>_chunk<i>.png` (support with its mask |
/// query | every method's prediction | label of the chunk's middle query, each captioned), drawn after every
/// prediction of the organ is made.
public struct EvaluationRunner {
    /// What the record says about the run that the runner cannot know itself.
    public struct RunInfo {
        public var toolkit = "", processor = "", volumeSHA256 = "", setting = "1"
        /// The encoder's GEMM precision ("fp32" or "bf16").
        public var precision = "fp32"
        public var models: [String: (name: String, sha256: String)] = [:]
        public var steps: Int?
        public init() {}
    }

    public let image: URL, labels: URL
    public let labelMap: LabelMap
    public let preset: IntensityPreset
    public let chunks: Int
    /// A separate support volume and its labels (SSL-ALPNet's protocol), or nil for the same volume.
    public let supportVolume: (image: URL, labels: URL)?

    public init(image: URL, labels: URL, labelMap: LabelMap, preset: IntensityPreset, chunks: Int,
                supportVolume: (image: URL, labels: URL)? = nil) {
        (self.image, self.labels, self.labelMap, self.preset, self.chunks, self.supportVolume) =
            (image, labels, labelMap, preset, chunks, supportVolume)
    }

    /// Runs the evaluation for `organs`, the methods of each organ from `methods(organ)` (the first name of
    /// the first method is the primary one), and writes everything into `out` (a new folder, created whole:
    /// built under a temporary name and renamed at the end, so a failed run leaves nothing).
    public func run(organs: [String], methods: (String) throws -> [EpisodeMethod], bank: SliceBank, info: RunInfo,
                    out: URL, progress: (String) -> Void = { _ in }) throws -> EvaluationRecord {
        guard !FileManager.default.fileExists(atPath: out.path) else {
            throw ToolkitError(.invalidArgument, subject: out.path, "already exists: give a new output folder")
        }
        let parent = out.deletingLastPathComponent()
        let work = parent.appendingPathComponent(".\(out.lastPathComponent).partial-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work.appendingPathComponent("panels"), withIntermediateDirectories: true)
        let token = InterruptCleanup.register(work)  // Ctrl-C during the run removes the partial folder
        defer { InterruptCleanup.forget(token) }
        do {
            let record = try evaluate(organs: organs, methods: methods, bank: bank, info: info, into: work, progress: progress)
            guard rename(work.path, out.path) == 0 else {
                throw ToolkitError(.writeFailed, subject: out.path, "cannot rename the finished run into place: \(String(cString: strerror(errno)))")
            }
            return record
        } catch {
            try? FileManager.default.removeItem(at: work)
            throw error
        }
    }

    private func evaluate(organs: [String], methods: (String) throws -> [EpisodeMethod], bank: SliceBank, info: RunInfo,
                          into work: URL, progress: (String) -> Void) throws -> EvaluationRecord {
        let t0 = Date()
        let volume = try VolumeReader.read(image)
        var source = SupportSource.sameVolume
        var supportImages = volume
        if let sv = supportVolume {
            supportImages = try VolumeReader.read(sv.image)
            source = .separateVolume(supportImages, try NIfTIReader.readLabels(sv.labels, matching: supportImages))
        }
        var results: [String: EvaluationRecord.OrganResult] = [:]
        var primary = ""
        for organ in organs {
            let name = LabelMap.normalise(organ)
            let testCase = try FewShotTestCase(image: image, labels: labels, organ: name, labelMap: labelMap, chunks: chunks, support: source)
            let organMethods = try methods(name)
            guard let first = organMethods.first?.names.first else {
                throw ToolkitError(.invalidArgument, subject: "eval", "no method to evaluate for \(name)")
            }
            if primary.isEmpty { primary = first }
            let methodNames = organMethods.flatMap(\.names)
            var scorers: [String: DiceScorer] = [:]
            var predictions: [String: [Int: [UInt8]]] = [:]
            var seconds: [String: Double] = [:]
            for n in methodNames { scorers[n] = testCase.scorer.emptyCopy() }
            let episodes = try testCase.allEpisodes()
            for (i, episode) in episodes.enumerated() {
                for method in organMethods {
                    let tm = Date()
                    let made = try method.segment(episode, volume: volume, supportVolume: supportImages, bank: bank)
                    let dt = Date().timeIntervalSince(tm)
                    for n in method.names {
                        guard let masks = made[n], Set(masks.keys) == Set(episode.queries.map(\.index)) else {
                            throw ToolkitError(.invalidArgument, subject: n, "did not predict every query of chunk \(i) (no case is dropped)")
                        }
                        for (k, m) in masks { try scorers[n]!.record(prediction: m, slice: k); predictions[n, default: [:]][k] = m }
                        seconds[n, default: 0] += dt / Double(method.names.count)
                    }
                    progress("\(name): chunk \(i + 1)/\(episodes.count), \(method.names.joined(separator: "/")) \(String(format: "%.1f", dt)) s")
                }
            }
            // Everything of this organ is predicted: now (and only now) the labels are read, for the panels.
            let truth = try NIfTIReader.readLabels(labels, matching: volume)
            let id = try labelMap.id(of: name)
            try writePanels(organ: name, episodes: episodes, volume: volume, supportVolume: supportImages, truth: truth, id: id,
                            predictions: methodNames.map { ($0, predictions[$0] ?? [:]) }, bank: bank, into: work.appendingPathComponent("panels"))
            for n in methodNames {
                let file = n == first ? "prediction_\(name).nii.gz" : "prediction_\(name)_\(n).nii.gz"
                try writePrediction(predictions[n] ?? [:], id: id, volume: volume, to: work.appendingPathComponent(file))
            }
            var methodResults: [String: EvaluationRecord.MethodResult] = [:]
            for method in organMethods {
                for n in method.names {
                    methodResults[n] = .init(dice: scorers[n]!.dice(), querySlices: scorers[n]!.recordedCount, seconds: seconds[n] ?? 0,
                                             adaptationSeconds: (method as? SSMSAMMethod)?.adaptationSeconds)
                }
            }
            let baselines = methodResults.filter { $0.key.hasPrefix("sam_") }.mapValues(\.dice)
            results[name] = .init(dice: methodResults[first]!.dice, baselines: baselines, methods: methodResults,
                                  chunks: testCase.chunks.map { .init(slices: Array($0.slices), support: $0.support) },
                                  model: info.models[name]?.name, modelSHA256: info.models[name]?.sha256)
            progress("\(name): " + methodNames.map { "\($0) \(String(format: "%.3f", methodResults[$0]!.dice))" }.joined(separator: ", "))
        }
        let allNames = Set(results.values.flatMap { $0.methods.keys })
        var means: [String: Double] = [:]
        for n in allNames {
            let ds = results.values.compactMap { $0.methods[n]?.dice }
            means[n] = ds.reduce(0, +) / Double(ds.count)
        }
        let record = EvaluationRecord(
            toolkit: info.toolkit, date: ISO8601DateFormatter().string(from: Date()), processor: info.processor,
            precision: info.precision, volume: image.path, volumeSHA256: info.volumeSHA256, labels: labels.path, labelMap: labelMap.name,
            preset: "\(preset)", setting: info.setting, supportSource: supportVolume.map { "separate: \($0.image.path)" } ?? "same volume",
            chunks: chunks, steps: info.steps, threshold: 0, primaryMethod: primary, organs: results,
            meanDice: results.values.map(\.dice).reduce(0, +) / Double(max(results.count, 1)), meanDiceByMethod: means,
            wallSeconds: Date().timeIntervalSince(t0))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(record), to: work.appendingPathComponent("record.json"))
        return record
    }

    /// The organ's predicted slices as a label volume (the organ's label id inside, 0 elsewhere) on the
    /// input's own grid.
    private func writePrediction(_ masks: [Int: [UInt8]], id: Int32, volume: Volume, to url: URL) throws {
        let n = volume.dims[0] * volume.dims[1]
        var labels = [Int32](repeating: 0, count: n * volume.dims[2])
        for (k, m) in masks { for i in 0..<n where m[i] != 0 { labels[k * n + i] = id } }
        let lv = LabelVolume(dims: volume.dims, spacing: volume.spacing, labels: labels, affine: volume.affine, source: url.path)
        // A DICOM series has no NIfTI header to copy: the prediction takes the header of the label map, which
        // was checked to lie on the series' grid (same dims and affine) before any prediction is written.
        var isDir: ObjCBool = false
        let series = FileManager.default.fileExists(atPath: image.path, isDirectory: &isDir) && isDir.boolValue
        try NIfTIWriter.writeLabels(lv, like: series ? self.labels : image, to: url)
    }

    /// One PNG per chunk, of its middle query: support with its mask | query | each method's prediction (in the
    /// methods' order, the primary first, captioned with its name and its Dice on that slice) | label.
    private func writePanels(organ: String, episodes: [Episode], volume: Volume, supportVolume: Volume, truth: LabelVolume, id: Int32,
                             predictions: [(method: String, masks: [Int: [UInt8]])], bank: SliceBank, into dir: URL) throws {
        for e in episodes {
            guard !e.queries.isEmpty else { continue }
            let q = e.queries[e.queries.count / 2]
            let (w, h) = (q.image.width, q.image.height)
            func shown(_ m: [UInt8], _ w: Int, _ h: Int) -> [UInt8] { SliceRenderer.display(m, width: w, height: h).map { $0 != 0 ? 255 : 0 } }
            let zoom = max(1, 256 / max(w, h))
            let support = try bank.image(e.support.image, of: supportVolume).tinted(mask: shown(e.support.mask, e.support.image.width, e.support.image.height),
                                                                          colour: .orange, alpha: 0.45)
            let query = try bank.image(q.image, of: volume)
            let truthMask = truth.mask(slice: q.index, label: id)
            var panels = [support.zoomed(zoom).captioned("support \(e.support.index)"), query.zoomed(zoom).captioned("query \(q.index)")]
            for (method, masks) in predictions {
                let predicted = masks[q.index] ?? [UInt8](repeating: 0, count: w * h)
                let dice = try Dice.of(prediction: predicted, truth: truthMask)
                panels.append(try query.highlighted(mask: shown(predicted, w, h), fill: .cyan, outline: .cyan).zoomed(zoom)
                    .captioned("\(method) \(String(format: "%.2f", dice))"))
            }
            panels.append(try query.highlighted(mask: shown(truthMask, w, h), fill: .orange, outline: .orange).zoomed(zoom).captioned("label"))
            try ImageIO.writePNG(Image8.sideBySide(panels, gap: 6), to: dir.appendingPathComponent("\(organ)_chunk\(e.chunk).png"))
        }
    }
}
