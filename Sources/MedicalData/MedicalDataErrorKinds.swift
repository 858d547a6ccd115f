import Diagnostics

/// The failures of medical data that callers tell apart beyond the toolkit's general kinds.
extension ToolkitError.Kind {
    /// A file that is not a NIfTI-1/2 volume (or a folder where a volume was expected).
    public static let notNIfTI = ToolkitError.Kind(rawValue: "notNIfTI")
    /// A file in a DICOM series folder that GDCM cannot read as a single-frame grey-scale DICOM image.
    public static let notDICOM = ToolkitError.Kind(rawValue: "notDICOM")
    /// DICOM slices that do not make one regular volume: mixed sizes or orientations, uneven or repeated
    /// positions, positions off the slice normal, missing geometry tags.
    public static let invalidSeries = ToolkitError.Kind(rawValue: "invalidSeries")
    /// Two volumes (an image and its labels, support and query) on different voxel grids.
    public static let gridMismatch = ToolkitError.Kind(rawValue: "gridMismatch")
    /// An organ name the label map or the protocol does not know.
    public static let unknownOrgan = ToolkitError.Kind(rawValue: "unknownOrgan")
    /// A label map that cannot serve: non-integer labels, or the organ asked for is absent.
    public static let invalidLabels = ToolkitError.Kind(rawValue: "invalidLabels")
    /// A dataset manifest or folder layout that cannot be read as a dataset.
    public static let invalidManifest = ToolkitError.Kind(rawValue: "invalidManifest")
}
