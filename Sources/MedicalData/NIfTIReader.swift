import CNIfTI
import Diagnostics
import Foundation

/// Reads NIfTI-1 and NIfTI-2 volumes (`.nii`, `.nii.gz`, also `.hdr`/`.img` pairs) through niftilib and
/// brings them to the canonical orientation (`Orientation.canonical`, RAS+).
///
/// What is read: the first three dimensions (dims 4...7 must be 1), voxel sizes `pixdim[1...3]`, any
/// real datatype converted to Float32 with `scl_slope`/`scl_inter` applied (a slope of 0 or NaN means
/// no scaling, as the standard says), and the voxel-to-world affine chosen as nibabel does: the sform
/// when `sform_code > 0`, else the qform when `qform_code > 0`, else niftilib's fallback
/// `diag(pixdim)` (nibabel would flip x there; such files carry no orientation anyway).
public enum NIfTIReader {
    /// Reads an image volume.
    public static func readVolume(_ url: URL) throws -> Volume {
        let raw = try readRaw(url)
        let r = Orientation.reorient(data: raw.values, dims: raw.dims, spacing: raw.spacing,
                                     affine: raw.affine, maps: raw.maps)
        return Volume(dims: r.dims, spacing: r.spacing, data: r.data, affine: r.affine,
                      sourceOrientation: Orientation.codes(raw.maps), source: url.path)
    }

    /// Reads a label map: values must be integers (after scaling).
    public static func readLabels(_ url: URL) throws -> LabelVolume {
        let raw = try readRaw(url)
        var ints = [Int32](repeating: 0, count: raw.values.count)
        for (i, v) in raw.values.enumerated() {
            let r = v.rounded()
            guard abs(v - r) < 1e-3, abs(r) < 2e9 else {
                throw ToolkitError(.invalidLabels, subject: url.path,
                                       "a label map must hold integers, found \(v) at voxel \(i)")
            }
            ints[i] = Int32(r)
        }
        let r = Orientation.reorient(data: ints, dims: raw.dims, spacing: raw.spacing, affine: raw.affine,
                                     maps: raw.maps)
        return LabelVolume(dims: r.dims, spacing: r.spacing, labels: r.data, affine: r.affine, source: url.path)
    }

    /// Reads a label map and checks that it lies on `volume`'s grid (same dims and affine within 1e-3 mm).
    public static func readLabels(_ url: URL, matching volume: Volume) throws -> LabelVolume {
        let labels = try readLabels(url)
        try GridCheck.require(labels, matches: volume)
        return labels
    }

    /// The header-level facts of a file, before reorientation.
    public struct Header: Sendable {
        public let niftiVersion: Int
        public let dims: [Int]
        public let spacing: [Double]
        public let datatype: Int
        public let affine: [[Double]]
        public let orientation: String
    }

    /// Reads only the header.
    public static func readHeader(_ url: URL) throws -> Header {
        var v = cnifti_volume()
        var err = [CChar](repeating: 0, count: 512)
        let rc = cnifti_read_header(url.path, &v, &err, err.count)
        if rc != 0 { throw error(rc, url, String(cString: err)) }
        let (dims, spacing, affine) = try geometry(v, url)
        let maps = try orientationMaps(affine, url)
        return Header(niftiVersion: Int(v.nifti_version), dims: dims, spacing: spacing, datatype: Int(v.datatype),
                      affine: affine, orientation: Orientation.codes(maps))
    }

    private struct Raw {
        let dims: [Int], spacing: [Double], affine: [[Double]], maps: [Orientation.AxisMap], values: [Float]
    }

    private static func readRaw(_ url: URL) throws -> Raw {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw ToolkitError(.missingFile, subject: url.path, "no such file")
        }
        guard !isDir.boolValue else {
            throw ToolkitError(.notNIfTI, subject: url.path, "is a folder, expected a NIfTI file (.nii or .nii.gz)")
        }
        var v = cnifti_volume()
        var err = [CChar](repeating: 0, count: 512)
        let rc = cnifti_read(url.path, &v, &err, err.count)
        defer { cnifti_free(&v) }
        if rc != 0 { throw error(rc, url, String(cString: err)) }
        let (dims, spacing, affine) = try geometry(v, url)
        let maps = try orientationMaps(affine, url)
        let n = dims[0] * dims[1] * dims[2]
        guard Int(v.nvox) == n, let data = v.data else {
            throw ToolkitError(.invalidFile, subject: url.path, "expected \(n) voxels, niftilib read \(v.nvox)")
        }
        var values = Array(UnsafeBufferPointer(start: data, count: n))
        // The standard: scaling applies unless the slope is 0 (or not a number).
        let slope = v.scl_slope, inter = v.scl_inter
        if slope != 0 && slope.isFinite && (slope != 1 || (inter != 0 && inter.isFinite)) {
            let s = slope, b = inter.isFinite ? inter : 0
            for i in 0..<n { values[i] = Float(Double(values[i]) * s + b) }
        }
        return Raw(dims: dims, spacing: spacing, affine: affine, maps: maps, values: values)
    }

    private static func geometry(_ v: cnifti_volume, _ url: URL) throws -> ([Int], [Double], [[Double]]) {
        let dimTuple = [v.dim.0, v.dim.1, v.dim.2, v.dim.3, v.dim.4, v.dim.5, v.dim.6, v.dim.7].map(Int.init)
        let pix = [v.pixdim.0, v.pixdim.1, v.pixdim.2, v.pixdim.3]
        let ndim = dimTuple[0]
        var dims = [1, 1, 1]
        for a in 0..<min(3, max(ndim, 0)) { dims[a] = max(dimTuple[a + 1], 1) }
        if ndim > 3 {
            let extra = (4...min(ndim, 7)).map { dimTuple[$0] }
            guard extra.allSatisfy({ $0 <= 1 }) else {
                throw ToolkitError(.unsupported, subject: url.path,
                                       "expected a 3-D volume, found \(ndim) dimensions \(Array(dimTuple[1...ndim])) (4-D series are not supported)")
            }
        }
        let spacing = (1...3).map { a in abs(pix[a]) > 0 && pix[a].isFinite ? abs(pix[a]) : 1.0 }
        let q = withUnsafeBytes(of: v.qto_xyz) { Array($0.bindMemory(to: Double.self)) }
        let s = withUnsafeBytes(of: v.sto_xyz) { Array($0.bindMemory(to: Double.self)) }
        let flat: [Double]
        if v.sform_code > 0 { flat = s } else if v.qform_code > 0 { flat = q } else {
            flat = [spacing[0], 0, 0, 0, 0, spacing[1], 0, 0, 0, 0, spacing[2], 0, 0, 0, 0, 1]
        }
        let affine = (0..<4).map { r in Array(flat[(r * 4)..<(r * 4 + 4)]) }
        return (dims, spacing, affine)
    }

    private static func orientationMaps(_ affine: [[Double]], _ url: URL) throws -> [Orientation.AxisMap] {
        do { return try Orientation.axisMaps(affine: affine) } catch let e as ToolkitError {
            throw ToolkitError(e.kind, subject: url.path, e.message)
        }
    }

    private static func error(_ rc: Int32, _ url: URL, _ message: String) -> ToolkitError {
        switch rc {
        case 1: return ToolkitError(.missingFile, subject: url.path, message)
        case 2: return ToolkitError(.notNIfTI, subject: url.path, message)
        case 3: return ToolkitError(.invalidFile, subject: url.path, message)
        case 4: return ToolkitError(.unsupported, subject: url.path, message)
        default: return ToolkitError(.invalidFile, subject: url.path, message)
        }
    }
}
