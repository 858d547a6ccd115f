import Diagnostics
import Foundation

/// Bringing volumes to the toolkit's canonical orientation, RAS+ (the same choice as nibabel's
/// `as_closest_canonical`): the first voxel axis runs towards the patient's Right, the second towards
/// Anterior, the third towards Superior. Only axis permutations and flips are applied (no resampling),
/// chosen from the voxel-to-world affine exactly as nibabel's `io_orientation` does: the affine's
/// rotation part (columns normalised by the voxel sizes) is replaced by its closest orthogonal matrix,
/// then each voxel axis in turn takes the world axis it is most aligned with.
public enum Orientation {
    /// The canonical axis codes.
    public static let canonical = "RAS"

    /// One voxel axis' destination: the world axis (0 = R, 1 = A, 2 = S) and whether it runs backwards.
    public struct AxisMap: Equatable, Sendable {
        public let worldAxis: Int
        public let flipped: Bool
    }

    /// For each voxel axis of `affine` (4x4 row-major), the closest world axis and direction.
    public static func axisMaps(affine: [[Double]]) throws -> [AxisMap] {
        var rs = [[Double]](repeating: [0, 0, 0], count: 3)
        for c in 0..<3 {
            let norm = sqrt((0..<3).reduce(0) { $0 + affine[$1][c] * affine[$1][c] })
            guard norm > 0, norm.isFinite else {
                throw ToolkitError(.unsupported, "the affine's column \(c) is zero or not finite: no orientation")
            }
            for r in 0..<3 { rs[r][c] = affine[r][c] / norm }
        }
        var r = closestOrthogonal(rs)
        var maps: [AxisMap] = []
        var used = Set<Int>()
        for inAxis in 0..<3 {
            var best = -1
            var bestValue = 0.0
            for outAxis in 0..<3 where abs(r[outAxis][inAxis]) > bestValue {
                best = outAxis
                bestValue = abs(r[outAxis][inAxis])
            }
            guard best >= 0, !used.contains(best) else {
                throw ToolkitError(.unsupported, "the affine is degenerate: voxel axis \(inAxis) has no world axis of its own")
            }
            used.insert(best)
            maps.append(AxisMap(worldAxis: best, flipped: r[best][inAxis] < 0))
            for c in 0..<3 { r[best][c] = 0 }
        }
        return maps
    }

    /// The axis codes ("LPS", "RAS", ...) of a voxel-to-world affine.
    public static func codes(_ maps: [AxisMap]) -> String {
        let positive: [Character] = ["R", "A", "S"], negative: [Character] = ["L", "P", "I"]
        return String(maps.map { $0.flipped ? negative[$0.worldAxis] : positive[$0.worldAxis] })
    }

    /// Reorders `data` (dims `dims`, x fastest) so that voxel axis `a` becomes canonical axis
    /// `maps[a].worldAxis`, reversed when flipped. Returns the new dims, spacing, data and affine.
    public static func reorient<T>(data: [T], dims: [Int], spacing: [Double], affine: [[Double]],
                                   maps: [AxisMap]) -> (dims: [Int], spacing: [Double], data: [T], affine: [[Double]]) {
        var outDims = [0, 0, 0], outSpacing = [0.0, 0.0, 0.0]
        for a in 0..<3 {
            outDims[maps[a].worldAxis] = dims[a]
            outSpacing[maps[a].worldAxis] = spacing[a]
        }
        var out = data
        if maps != [AxisMap(worldAxis: 0, flipped: false), AxisMap(worldAxis: 1, flipped: false),
                    AxisMap(worldAxis: 2, flipped: false)] {
            forEachVoxel(dims: dims, maps: maps) { src, dst in out[dst] = data[src] }
        }
        // in_index = T * out_index: T[a][world] = +-1, T[a][3] = n-1 when flipped; new affine = A * T.
        var t = [[Double]](repeating: [0, 0, 0, 0], count: 4)
        t[3][3] = 1
        for a in 0..<3 {
            t[a][maps[a].worldAxis] = maps[a].flipped ? -1 : 1
            t[a][3] = maps[a].flipped ? Double(dims[a] - 1) : 0
        }
        return (outDims, outSpacing, out, multiply(affine, t))
    }

    /// Calls `body(src, dst)` for every voxel of a file with `dims` and axis maps `maps`: `src` its index in the
    /// file's order (x fastest), `dst` its index in the canonical array.
    private static func forEachVoxel(dims: [Int], maps: [AxisMap], _ body: (Int, Int) -> Void) {
        var outDims = [0, 0, 0]
        for a in 0..<3 { outDims[maps[a].worldAxis] = dims[a] }
        let strides = [1, outDims[0], outDims[0] * outDims[1]]
        var step = [0, 0, 0], base = 0
        for a in 0..<3 {
            let s = strides[maps[a].worldAxis]
            if maps[a].flipped { step[a] = -s; base += (dims[a] - 1) * s } else { step[a] = s }
        }
        var src = 0
        for k in 0..<dims[2] {
            for j in 0..<dims[1] {
                var dst = base + k * step[2] + j * step[1]
                for _ in 0..<dims[0] {
                    body(src, dst)
                    src += 1
                    dst += step[0]
                }
            }
        }
    }

    /// The inverse of `reorient`'s data reordering: canonical `data` back to the voxel order of a file whose
    /// dims are `dims` and axis maps `maps` (what a writer needs to store labels on that file's own grid).
    public static func restore<T>(data: [T], dims: [Int], maps: [AxisMap]) -> [T] {
        var out = data
        forEachVoxel(dims: dims, maps: maps) { src, dst in out[src] = data[dst] }  // reorient's walk, gathered
        return out
    }

    /// The orthogonal polar factor of a 3x3 matrix (its closest orthogonal matrix, the `P @ Qs` of an SVD),
    /// by Newton's iteration R <- (R + R^-T) / 2.
    static func closestOrthogonal(_ m: [[Double]]) -> [[Double]] {
        var r = m
        for _ in 0..<100 {
            guard let inv = inverse3(r) else { return r }
            var next = r
            var change = 0.0
            for i in 0..<3 {
                for j in 0..<3 {
                    next[i][j] = 0.5 * (r[i][j] + inv[j][i])
                    change = max(change, abs(next[i][j] - r[i][j]))
                }
            }
            r = next
            if change < 1e-12 { break }
        }
        return r
    }

    static func inverse3(_ m: [[Double]]) -> [[Double]]? {
        let c00 = m[1][1] * m[2][2] - m[1][2] * m[2][1]
        let c01 = m[1][2] * m[2][0] - m[1][0] * m[2][2]
        let c02 = m[1][0] * m[2][1] - m[1][1] * m[2][0]
        let det = m[0][0] * c00 + m[0][1] * c01 + m[0][2] * c02
        guard abs(det) > 1e-12 else { return nil }
        let inv: [[Double]] = [
            [c00, m[0][2] * m[2][1] - m[0][1] * m[2][2], m[0][1] * m[1][2] - m[0][2] * m[1][1]],
            [c01, m[0][0] * m[2][2] - m[0][2] * m[2][0], m[0][2] * m[1][0] - m[0][0] * m[1][2]],
            [c02, m[0][1] * m[2][0] - m[0][0] * m[2][1], m[0][0] * m[1][1] - m[0][1] * m[1][0]],
        ]
        return inv.map { $0.map { $0 / det } }
    }

    static func multiply(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
        (0..<4).map { i in (0..<4).map { j in (0..<4).reduce(0) { $0 + a[i][$1] * b[$1][j] } } }
    }
}
