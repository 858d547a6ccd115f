import Diagnostics

/// One chunk of consecutive slices and the slice whose label is the support.
public struct Chunk: Sendable, Equatable {
    /// The chunk's slices (in the query volume).
    public let slices: ClosedRange<Int>
    /// The support slice: the chunk's centre (same-volume) or the matched centre in the support volume.
    public let support: Int
    /// The slices to predict: the chunk minus its centre (same-volume) or the whole chunk (separate volume).
    public let queries: [Int]
}

/// Splitting a test organ's slice range into C chunks (the 1-shot protocol).
///
/// The range first...last is cut into C runs of consecutive slices whose lengths differ by at most one
/// (earlier chunks longer, like numpy's `array_split`); a chunk's centre is its slice at offset `count / 2`.
public enum ChunkPlan {
    /// Chunks of `range` with the support taken from the same volume (the paper's variant).
    public static func sameVolume(_ range: ClosedRange<Int>, chunks c: Int) throws -> [Chunk] {
        try split(range, c).map { run in
            let centre = run.lowerBound + run.count / 2
            return Chunk(slices: run, support: centre, queries: run.filter { $0 != centre })
        }
    }

    /// Chunks of the query volume's `range`, each supported by the centre of the matching chunk (same
    /// relative position) of the support volume's `supportRange` (SSL-ALPNet's variant).
    public static func separateVolume(_ range: ClosedRange<Int>, supportRange: ClosedRange<Int>, chunks c: Int) throws -> [Chunk] {
        let q = try split(range, c), s = try split(supportRange, c)
        return zip(q, s).map { run, sup in
            Chunk(slices: run, support: sup.lowerBound + sup.count / 2, queries: Array(run))
        }
    }

    static func split(_ range: ClosedRange<Int>, _ c: Int) throws -> [ClosedRange<Int>] {
        guard c >= 1, c <= range.count else {
            throw ToolkitError(.invalidArgument, "cannot split \(range.count) slices (\(range.lowerBound)...\(range.upperBound)) into \(c) chunks: need 1 <= chunks <= slices")
        }
        var out: [ClosedRange<Int>] = []
        var start = range.lowerBound
        for i in 0..<c {
            let size = range.count / c + (i < range.count % c ? 1 : 0)
            out.append(start...(start + size - 1))
            start += size
        }
        return out
    }
}
