/// The support of an episode: an image slice and its organ mask (labels of support slices are inputs).
public struct SupportSlice: Sendable {
    /// Slice index in its volume (the query volume, or the separate support volume).
    public let index: Int
    public let image: Slice2D
    /// Binary mask of the test organ (1 inside), nx x ny, x fastest.
    public let mask: [UInt8]

    public init(index: Int, image: Slice2D, mask: [UInt8]) { (self.index, self.image, self.mask) = (index, image, mask) }
}

/// A query: an image slice only. Its label is held by the `DiceScorer`, never here.
public struct QuerySlice: Sendable {
    public let index: Int
    public let image: Slice2D

    public init(index: Int, image: Slice2D) { (self.index, self.image) = (index, image) }
}

/// One 1-shot episode: a chunk's support (slice + mask) and its query slices.
public struct Episode: Sendable {
    /// Chunk number, 0..<C.
    public let chunk: Int
    public let slices: ClosedRange<Int>
    public let support: SupportSlice
    public let queries: [QuerySlice]

    /// An episode of one's own making (a demo's support and query); the protocol's come from `FewShotTestCase`.
    public init(chunk: Int, slices: ClosedRange<Int>, support: SupportSlice, queries: [QuerySlice]) {
        (self.chunk, self.slices, self.support, self.queries) = (chunk, slices, support, queries)
    }
}
