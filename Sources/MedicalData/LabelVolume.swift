/// An integer label map on a volume's grid (canonical orientation, x fastest).
public struct LabelVolume: Sendable {
    public let dims: [Int]
    public let spacing: [Double]
    public let labels: [Int32]
    /// The canonical voxel-to-world affine, row-major 4x4.
    public let affine: [[Double]]
    public let source: String

    public init(dims: [Int], spacing: [Double], labels: [Int32], affine: [[Double]], source: String = "") {
        precondition(dims.count == 3 && labels.count == dims[0] * dims[1] * dims[2], "label shape and data disagree")
        self.dims = dims
        self.spacing = spacing
        self.labels = labels
        self.affine = affine
        self.source = source
    }

    /// Number of voxels with label `id`.
    public func voxelCount(_ id: Int32) -> Int {
        labels.reduce(0) { $0 + ($1 == id ? 1 : 0) }
    }

    /// The axial slices (canonical order) that contain label `id`, ascending.
    public func slicesContaining(_ id: Int32) -> [Int] {
        let n = dims[0] * dims[1]
        return (0..<dims[2]).filter { k in labels[(k * n)..<((k + 1) * n)].contains(id) }
    }

    /// First...last slice containing `id`, or nil when the label is absent.
    public func sliceRange(_ id: Int32) -> ClosedRange<Int>? {
        let s = slicesContaining(id)
        guard let first = s.first, let last = s.last else { return nil }
        return first...last
    }

    /// The binary mask (1 inside) of label `id` on axial slice `k`, nx x ny, x fastest.
    public func mask(slice k: Int, label id: Int32) -> [UInt8] {
        let n = dims[0] * dims[1]
        return labels[(k * n)..<((k + 1) * n)].map { $0 == id ? 1 : 0 }
    }

    /// The binary mask of label `id` over the whole volume.
    public func mask(label id: Int32) -> [UInt8] { labels.map { $0 == id ? 1 : 0 } }

    /// The distinct label values present, ascending.
    public var presentLabels: [Int32] { Array(Set(labels)).sorted() }
}
