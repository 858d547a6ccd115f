import Diagnostics
import Foundation

/// Where episode supports come from.
public enum SupportSource: Sendable {
    /// The centre slice of each chunk of the test volume itself (the paper's description; the default).
    case sameVolume
    /// A separate support volume and its labels, chunks matched by relative position (SSL-ALPNet).
    case separateVolume(Volume, LabelVolume)
}

/// A test volume under the 1-shot protocol for one organ: its chunks, an iterator of episodes, and the
/// scorer. Query labels stay inside: episodes carry query images only, and the ground truth is reachable
/// only through `scorer` (which returns a Dice, never a mask).
public struct FewShotTestCase: Sequence {
    public let organ: String
    public let chunks: [Chunk]
    /// Receives predictions for the query slices; computes the 3-D Dice.
    public let scorer: DiceScorer
    private let volume: Volume
    private let supportImages: Volume
    /// Support masks only: one per chunk, cut from the support labels at construction.
    private let supportMasks: [[UInt8]]

    /// Builds the chunks of `organ`'s slice range in `labels` (on `volume`'s grid).
    public init(volume: Volume, labels: LabelVolume, organ: String, labelMap: LabelMap, chunks c: Int,
                support: SupportSource = .sameVolume) throws {
        try GridCheck.require(labels, matches: volume)
        let id = try labelMap.id(of: organ)
        guard let range = labels.sliceRange(id) else {
            throw ToolkitError(.invalidLabels, subject: labels.source, "organ \(LabelMap.normalise(organ)) (label \(id)) is absent from the label map")
        }
        switch support {
        case .sameVolume:
            chunks = try ChunkPlan.sameVolume(range, chunks: c)
            supportImages = volume
            supportMasks = chunks.map { labels.mask(slice: $0.support, label: id) }
        case let .separateVolume(sv, sl):
            try GridCheck.require(sl, matches: sv)
            guard sv.dims[0] == volume.dims[0], sv.dims[1] == volume.dims[1] else {
                throw ToolkitError(.gridMismatch, subject: sv.source, "support slices are \(sv.dims[0])x\(sv.dims[1]), query slices \(volume.dims[0])x\(volume.dims[1]); resample them to one in-plane size")
            }
            guard let sr = sl.sliceRange(id) else {
                throw ToolkitError(.invalidLabels, subject: sl.source, "organ \(LabelMap.normalise(organ)) (label \(id)) is absent from the support label map")
            }
            chunks = try ChunkPlan.separateVolume(range, supportRange: sr, chunks: c)
            supportImages = sv
            supportMasks = chunks.map { sl.mask(slice: $0.support, label: id) }
        }
        self.organ = LabelMap.normalise(organ)
        self.volume = volume
        self.scorer = DiceScorer(truth: labels, organId: id, querySlices: Set(chunks.flatMap(\.queries)))
    }

    /// Loads the test volume and its labels from files, so the caller never holds the query labels.
    public init(image: URL, labels: URL, organ: String, labelMap: LabelMap, chunks c: Int,
                support: SupportSource = .sameVolume) throws {
        let v = try VolumeReader.read(image)
        try self.init(volume: v, labels: try NIfTIReader.readLabels(labels, matching: v), organ: organ,
                      labelMap: labelMap, chunks: c, support: support)
    }

    /// The episode of chunk `i`.
    public func episode(_ i: Int) throws -> Episode {
        let chunk = chunks[i]
        let support = SupportSlice(index: chunk.support, image: try supportImages.slice(chunk.support), mask: supportMasks[i])
        return Episode(chunk: i, slices: chunk.slices, support: support,
                       queries: try chunk.queries.map { QuerySlice(index: $0, image: try volume.slice($0)) })
    }

    /// All episodes in chunk order (throws where iteration would stop early).
    public func allEpisodes() throws -> [Episode] { try chunks.indices.map(episode) }

    /// Iterates the episodes in chunk order.
    public func makeIterator() -> AnyIterator<Episode> {
        var i = 0
        return AnyIterator {
            guard i < chunks.count else { return nil }
            defer { i += 1 }
            return try? episode(i)
        }
    }
}
