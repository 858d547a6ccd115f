import Diagnostics

/// A 3-D scalar volume on a regular grid in the canonical orientation (see `Orientation`): `dims` =
/// [nx, ny, nz] with x fastest in `data`; axial slices run along the third axis.
public struct Volume: Sendable {
    /// Voxel counts along the canonical axes.
    public let dims: [Int]
    /// Voxel size in mm along the canonical axes.
    public let spacing: [Double]
    /// Intensities (scaling slope/intercept applied), `dims[0] * dims[1] * dims[2]` values, x fastest.
    public var data: [Float]
    /// The canonical voxel-to-world (RAS+ mm) affine, row-major 4x4.
    public let affine: [[Double]]
    /// The axis codes of the file as stored (e.g. "LPS"); the volume itself is always `Orientation.canonical`.
    public let sourceOrientation: String
    /// Where it was read from, for messages.
    public let source: String

    public init(dims: [Int], spacing: [Double], data: [Float], affine: [[Double]],
                sourceOrientation: String = Orientation.canonical, source: String = "") {
        precondition(dims.count == 3 && data.count == dims[0] * dims[1] * dims[2], "volume shape and data disagree")
        self.dims = dims
        self.spacing = spacing
        self.data = data
        self.affine = affine
        self.sourceOrientation = sourceOrientation
        self.source = source
    }

    /// Always `Orientation.canonical` ("RAS").
    public var orientation: String { Orientation.canonical }

    /// Number of axial slices (`dims[2]`).
    public var sliceCount: Int { dims[2] }

    /// The value at voxel (i, j, k).
    @inlinable
    public subscript(i: Int, j: Int, k: Int) -> Float { data[(k * dims[1] + j) * dims[0] + i] }

    /// Axial slice `k` as an `nx` x `ny` plane (x fastest).
    public func slice(_ k: Int) throws -> Slice2D {
        guard k >= 0 && k < dims[2] else {
            throw ToolkitError(.invalidArgument, subject: source, "slice \(k) is outside 0...\(dims[2] - 1)")
        }
        let n = dims[0] * dims[1]
        return Slice2D(width: dims[0], height: dims[1], index: k, values: Array(data[(k * n)..<((k + 1) * n)]))
    }

    /// The smallest and largest intensity.
    public var intensityRange: (min: Float, max: Float) {
        var lo = Float.infinity, hi = -Float.infinity
        for v in data { lo = min(lo, v); hi = max(hi, v) }
        return (lo, hi)
    }
}

/// One axial slice: `width` = nx columns (canonical x) by `height` = ny rows (canonical y), x fastest.
public struct Slice2D: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// The slice index along the canonical third axis.
    public let index: Int
    public let values: [Float]
}
