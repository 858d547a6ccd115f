import TensorCore

/// One task's data for a meta-batch: K support pairs (inner loop) and K' query pairs (outer loss) of one
/// training organ. Support pairs predict a chunk's centre slice from itself; query pairs predict other slices
/// of the chunk from that centre.
public struct TrainingEpisode {
    public let organ: String
    public let support: [FewShotPair]
    public let queries: [FewShotPair]

    public init(organ: String, support: [FewShotPair], queries: [FewShotPair]) {
        (self.organ, self.support, self.queries) = (organ, support, queries)
    }
}

/// Where the meta-learner's episodes come from: the training organs, and one episode of an organ drawn with
/// a given generator (all randomness from it, so a run is deterministic for its seed).
public protocol EpisodeSource {
    /// The training organs (the tasks the meta-learner samples from).
    var organs: [String] { get }
    /// An episode of `organ` with `supportShots` support and `queryShots` query pairs.
    func episode(organ: String, supportShots: Int, queryShots: Int, generator: inout SeededGenerator) throws -> TrainingEpisode
}
