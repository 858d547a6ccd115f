import CNIfTI
import Diagnostics
import FileIO
import Foundation

/// Writes label maps as NIfTI on a reference file's own grid: the same dims, voxel order, pixdim, qform and
/// sform as the reference (the scan the labels were predicted on), so that 3D Slicer, ITK-SNAP and nibabel
/// open the prediction aligned with it. Through niftilib; all or nothing.
public enum NIfTIWriter {
    /// Writes `labels` (on the canonical grid the toolkit reads volumes into, `NIfTIReader`) as a uint8 label
    /// map at `url` (`.nii` or `.nii.gz`) in `reference`'s voxel order and header. The file is written under
    /// a temporary name, read back and compared voxel by voxel, then renamed into place; on any failure
    /// nothing is left. Throws when the labels are not on the reference's grid or do not fit in uint8.
    public static func writeLabels(_ labels: LabelVolume, like reference: URL, to url: URL, description: String = "ssmsam prediction") throws {
        let ext = url.path.hasSuffix(".nii.gz") ? "nii.gz" : url.pathExtension == "nii" ? "nii" : ""
        guard !ext.isEmpty else {
            throw ToolkitError(.unsupported, subject: url.path, "a NIfTI label map is written as .nii or .nii.gz")
        }
        let header = try NIfTIReader.readHeader(reference)
        let maps = try Orientation.axisMaps(affine: header.affine)
        let canonicalDims = (0..<3).map { w in header.dims[maps.firstIndex { $0.worldAxis == w }!] }
        guard labels.dims == canonicalDims else {
            throw ToolkitError(.mismatch, subject: url.path, "labels are \(labels.dims.map(String.init).joined(separator: " x ")), the reference \(reference.lastPathComponent) reads as \(canonicalDims.map(String.init).joined(separator: " x "))")
        }
        if let bad = labels.labels.first(where: { $0 < 0 || $0 > 255 }) {
            throw ToolkitError(.invalidLabels, subject: url.path, "label \(bad) does not fit a uint8 label map")
        }
        let stored = Orientation.restore(data: labels.labels.map { UInt8($0) }, dims: header.dims, maps: maps)
        try write(stored, like: reference, to: url, ext: ext, description: description)
    }

    private static func write(_ stored: [UInt8], like reference: URL, to url: URL, ext: String, description: String) throws {
        try AtomicFile.replace(url) { tmp in
            // niftilib picks compression from the name: the temporary keeps the extension.
            let named = URL(fileURLWithPath: tmp.path + "." + ext)
            let token = InterruptCleanup.register(named)
            defer { try? FileManager.default.removeItem(at: named); InterruptCleanup.forget(token) }
            var err = [CChar](repeating: 0, count: 512)
            let rc = stored.withUnsafeBufferPointer {
                cnifti_write_like(reference.path, named.path, $0.baseAddress!, Int64(stored.count), description, &err, err.count)
            }
            guard rc == 0 else { throw ToolkitError(.writeFailed, subject: url.path, String(cString: err)) }
            // niftilib reports no write errors: read the file back and compare.
            var v = cnifti_volume()
            let back = cnifti_read(named.path, &v, &err, err.count)
            defer { cnifti_free(&v) }
            guard back == 0, Int(v.nvox) == stored.count, let data = v.data,
                  (0..<stored.count).allSatisfy({ data[$0] == Float(stored[$0]) }) else {
                throw ToolkitError(.writeFailed, subject: url.path, "niftilib did not write the labels (disk full or unwritable folder?)")
            }
            guard rename(named.path, tmp.path) == 0 else {
                throw ToolkitError(.writeFailed, subject: url.path, "cannot rename \(named.lastPathComponent): \(String(cString: strerror(errno)))")
            }
        }
    }
}
