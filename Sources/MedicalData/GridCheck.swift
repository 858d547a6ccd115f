import Diagnostics

/// Label maps and images must share a grid: same dims and the same voxel-to-world affine.
public enum GridCheck {
    /// Tolerance on affine entries, in mm (headers store float32, so exact equality is too strict).
    public static let tolerance = 1e-3

    /// Throws `.gridMismatch` naming both files and both grids when they differ.
    public static func require(_ labels: LabelVolume, matches volume: Volume) throws {
        guard labels.dims == volume.dims else {
            throw ToolkitError(.gridMismatch, subject: labels.source,
                                   "label map dims \(labels.dims) differ from the image \(volume.source) dims \(volume.dims) (canonical order)")
        }
        for r in 0..<4 {
            for c in 0..<4 {
                let a = labels.affine[r][c], b = volume.affine[r][c]
                if abs(a - b) > tolerance * max(1, abs(b)) {
                    throw ToolkitError(.gridMismatch, subject: labels.source,
                                           "label map affine differs from the image \(volume.source) affine at [\(r)][\(c)]: expected \(b), found \(a)")
                }
            }
        }
    }
}
