/// The support of an episode: an image slice and its organ mask (labels of support slices are inputs).
public struct SupportSlice: Sendable {
    /// Slice index in its volume (the query volume, or the separate support volume).
    public let index: Int
    public let image: Slice2D
    /// Binary mask of the test organ (1 inside), nx x ny, x fastest.
    public let mask: [UInt8]
}

/// A query: an image slice only. Its label is held by the `DiceScorer`, never here.
public struct QuerySlice: Sendable {
    public let index: Int
    public let image: Slice2D
}

/// One 1-shot episode: a chunk's support (slice + mask) and its query slices.
public struct Episode: Sendable {
    /// Chunk number, 0..<C.
    public let chunk: Int
    public let slices: ClosedRange<Int>
    public let support: SupportSlice
    public let queries: [QuerySlice]
}
