import TensorCore

/// One task's data for a meta-batch: K support pairs (inner loop) and K' query pairs (outer loss) of one
/// training organ. Support pairs predict a chunk's centre slice from itself; query pairs predict other slices
/// of the chunk from that centre.
public struct TrainingEpisode {
    public let organ: String
    public let support: [FewShotPair]
    public let queries: [FewShotPair]
    /// Where the pairs came from, when they came from volumes (for logs and checks).
    public let origin: EpisodeOrigin?

    public init(organ: String, support: [FewShotPair], queries: [FewShotPair], origin: EpisodeOrigin? = nil) {
        (self.organ, self.support, self.queries, self.origin) = (organ, support, queries, origin)
    }
}

/// The slices of a volume-backed episode.
public struct EpisodeOrigin: Equatable, Sendable {
    /// Index of the training volume.
    public let volume: Int
    /// The support slices (chunk centres), in `support` order.
    public let supportSlices: [Int]
    /// The query slices, in `queries` order, and the chunk (its slice range) each belongs to.
    public let querySlices: [Int]
    public let queryChunks: [ClosedRange<Int>]
}

/// Where the meta-learner's episodes come from: the training organs, and one episode of an organ drawn with
/// a given generator (all randomness from it, so a run is deterministic for its seed).
public protocol EpisodeSource {
    /// The training organs (the tasks the meta-learner samples from).
    var organs: [String] { get }
    /// An episode of `organ` with `supportShots` support and `queryShots` query pairs.
    func episode(organ: String, supportShots: Int, queryShots: Int, generator: inout SeededGenerator) throws -> TrainingEpisode
}
