import CGDCM
import Diagnostics
import Foundation

/// Reads a DICOM series (a folder holding one single-frame grey-scale slice per file, e.g. a CT) through GDCM,
/// which decodes the compressed transfer syntaxes (JPEG, JPEG-LS, JPEG 2000, RLE), and brings it to the canonical
/// orientation exactly as `NIfTIReader` does, so a series and the same data written as NIfTI give identical
/// `Volume`s.
///
/// - Order: slices sorted by ImagePositionPatient projected on the slice normal (the cross product of
///   ImageOrientationPatient's row and column cosines), not by file name or InstanceNumber.
/// - Spacing: in-plane from PixelSpacing, between slices from the positions; uneven gaps (beyond 1 % of the
///   spacing, or 0.01 mm), repeated positions and positions off the normal (gantry tilt) are refused, as are
///   slices of different sizes, orientations or pixel spacings.
/// - Orientation: DICOM patient coordinates are LPS; the voxel-to-world affine is built in LPS from the cosines,
///   spacings and first position, turned into RAS (x and y negated, as NIfTI affines are), and reoriented by
///   `Orientation` like any NIfTI affine.
/// - Intensities: stored values times RescaleSlope plus RescaleIntercept (per slice; HU for CT).
///
/// Files whose names start with "." and a `DICOMDIR` index are skipped; any other file must be a DICOM image.
public enum DICOMSeries {
    /// One decoded slice, before ordering.
    public struct Slice: Sendable {
        public let path: String
        public let width: Int, height: Int
        /// ImagePositionPatient, LPS mm.
        public let position: [Double]
        /// ImageOrientationPatient: row cosines then column cosines (LPS).
        public let orientation: [Double]
        /// PixelSpacing: between rows, then between columns (mm).
        public let pixelSpacing: [Double]
        public let sliceThickness: Double
        /// Rescaled values (slope and intercept applied), row by row.
        public let values: [Float]

        public init(path: String, width: Int, height: Int, position: [Double], orientation: [Double],
                    pixelSpacing: [Double], sliceThickness: Double = 0, values: [Float]) {
            precondition(position.count == 3 && orientation.count == 6 && pixelSpacing.count == 2
                         && values.count == width * height, "DICOM slice fields disagree")
            (self.path, self.width, self.height, self.position) = (path, width, height, position)
            (self.orientation, self.pixelSpacing, self.sliceThickness, self.values) = (orientation, pixelSpacing, sliceThickness, values)
        }
    }

    /// Reads one DICOM file.
    public static func readSlice(_ url: URL) throws -> Slice {
        var s = cgdcm_slice()
        var err = [CChar](repeating: 0, count: 512)
        let rc = cgdcm_read(url.path, &s, &err, err.count)
        defer { cgdcm_free(&s) }
        if rc != 0 {
            let message = String(cString: err)
            switch rc {
            case 1: throw ToolkitError(.missingFile, subject: url.path, message)
            case 2: throw ToolkitError(.notDICOM, subject: url.path, message)
            case 4: throw ToolkitError(.unsupported, subject: url.path, message)
            default: throw ToolkitError(.invalidFile, subject: url.path, message)
            }
        }
        guard s.has_orientation != 0 else {
            throw ToolkitError(.invalidSeries, subject: url.path, "no ImageOrientationPatient (0020,0037): the slice has no orientation")
        }
        guard s.has_position != 0 else {
            throw ToolkitError(.invalidSeries, subject: url.path, "no ImagePositionPatient (0020,0032): the slice has no position")
        }
        let n = Int(s.width) * Int(s.height)
        guard n > 0, let data = s.data else {
            throw ToolkitError(.invalidFile, subject: url.path, "the image is empty (\(s.width) x \(s.height))")
        }
        let slope = s.slope != 0 && s.slope.isFinite ? s.slope : 1, intercept = s.intercept.isFinite ? s.intercept : 0
        var values = Array(UnsafeBufferPointer(start: data, count: n))
        if slope != 1 || intercept != 0 {
            for i in 0..<n { values[i] = Float(Double(values[i]) * slope + intercept) }
        }
        let spacing = s.has_spacing != 0 ? [s.pixel_spacing.0, s.pixel_spacing.1] : [1.0, 1.0]
        guard spacing.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw ToolkitError(.invalidSeries, subject: url.path, "PixelSpacing must be positive, found \(spacing)")
        }
        return Slice(path: url.path, width: Int(s.width), height: Int(s.height),
                     position: [s.position.0, s.position.1, s.position.2],
                     orientation: [s.orientation.0, s.orientation.1, s.orientation.2,
                                   s.orientation.3, s.orientation.4, s.orientation.5],
                     pixelSpacing: spacing, sliceThickness: s.slice_thickness, values: values)
    }

    /// The files of a series folder, sorted by name (hidden files and DICOMDIR skipped).
    public static func files(in folder: URL) throws -> [URL] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder.path) } catch {
            throw ToolkitError(.missingFile, subject: folder.path, "cannot list the folder: \(error.localizedDescription)")
        }
        return names.filter { !$0.hasPrefix(".") && $0.uppercased() != "DICOMDIR" }.sorted()
            .map { folder.appendingPathComponent($0) }
            .filter { var d: ObjCBool = false; return FileManager.default.fileExists(atPath: $0.path, isDirectory: &d) && !d.boolValue }
    }

    /// Reads the series in `folder` as a canonical volume.
    public static func read(_ folder: URL) throws -> Volume {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDir) else {
            throw ToolkitError(.missingFile, subject: folder.path, "no such folder")
        }
        guard isDir.boolValue else {
            throw ToolkitError(.invalidArgument, subject: folder.path, "is a file, expected a folder of DICOM slices")
        }
        let urls = try files(in: folder)
        guard !urls.isEmpty else {
            throw ToolkitError(.invalidSeries, subject: folder.path, "the folder holds no files, expected DICOM slices")
        }
        return try assemble(try urls.map(readSlice), source: folder.path)
    }

    /// Orders, checks and stacks decoded slices into a canonical volume (`source` names it in messages).
    public static func assemble(_ slices: [Slice], source: String) throws -> Volume {
        guard let first = slices.first else {
            throw ToolkitError(.invalidSeries, subject: source, "no slices")
        }
        for s in slices.dropFirst() {
            guard s.width == first.width, s.height == first.height else {
                throw ToolkitError(.invalidSeries, subject: s.path,
                                   "slice size \(s.width) x \(s.height) differs from \(first.width) x \(first.height) of \(first.path)")
            }
            guard zip(s.orientation, first.orientation).allSatisfy({ abs($0 - $1) < 1e-4 }) else {
                throw ToolkitError(.invalidSeries, subject: s.path,
                                   "ImageOrientationPatient \(s.orientation) differs from \(first.orientation) of \(first.path) (mixed orientations)")
            }
            guard zip(s.pixelSpacing, first.pixelSpacing).allSatisfy({ abs($0 - $1) < 1e-4 * max(1, $1) }) else {
                throw ToolkitError(.invalidSeries, subject: s.path,
                                   "PixelSpacing \(s.pixelSpacing) differs from \(first.pixelSpacing) of \(first.path)")
            }
        }
        let row = normalised(Array(first.orientation[0..<3])), col = normalised(Array(first.orientation[3..<6]))
        guard let row, let col, abs(dot(row, col)) < 1e-3 else {
            throw ToolkitError(.invalidSeries, subject: first.path,
                               "ImageOrientationPatient \(first.orientation) is not two orthogonal unit vectors")
        }
        let normal = cross(row, col)
        let ordered = slices.map { ($0, dot($0.position, normal)) }.sorted { $0.1 < $1.1 }
        let count = ordered.count

        // The step between slices, from the positions; every gap must match it and lie along the normal.
        var gap = first.sliceThickness > 0 ? first.sliceThickness : 1
        if count > 1 {
            gap = (ordered[count - 1].1 - ordered[0].1) / Double(count - 1)
            // Gaps are checked against the median one (a missing slice is then the gap reported).
            let gaps = (1..<count).map { ordered[$0].1 - ordered[$0 - 1].1 }.sorted()
            let expected = gaps[gaps.count / 2]
            let tolerance = max(0.01 * expected, 0.01)
            for k in 1..<count {
                let (s, d) = ordered[k], (p, dp) = ordered[k - 1]
                guard d - dp > tolerance else {
                    throw ToolkitError(.invalidSeries, subject: s.path,
                                       "same slice position as \(p.path) (\(fmt(d)) mm along the normal): a repeated slice or two series in one folder")
                }
                guard abs((d - dp) - expected) <= tolerance else {
                    throw ToolkitError(.invalidSeries, subject: s.path,
                                       "uneven slice spacing: expected \(fmt(expected)) mm from the previous slice \(p.path), found \(fmt(d - dp)) mm")
                }
                let offset = (0..<3).map { s.position[$0] - ordered[0].0.position[$0] - (d - ordered[0].1) * normal[$0] }
                guard offset.map({ $0 * $0 }).reduce(0, +).squareRoot() <= tolerance else {
                    throw ToolkitError(.invalidSeries, subject: s.path,
                                       "ImagePositionPatient is \(fmt(offset.map { $0 * $0 }.reduce(0, +).squareRoot())) mm off the slice normal through the first slice (gantry tilt or mixed series), expected 0")
                }
            }
        }

        // Voxel (i = column, j = row, k = slice) to LPS: x runs along the row cosines by the column spacing
        // (PixelSpacing[1]), y along the column cosines by the row spacing (PixelSpacing[0]).
        let dx = first.pixelSpacing[1], dy = first.pixelSpacing[0]
        let origin = ordered[0].0.position
        var lps = [[Double]](repeating: [0, 0, 0, 0], count: 4)
        for r in 0..<3 {
            lps[r] = [row[r] * dx, col[r] * dy, normal[r] * gap, origin[r]]
        }
        lps[3] = [0, 0, 0, 1]
        // LPS to RAS: negate the first two world rows.
        let affine = lps.enumerated().map { r, v in r < 2 ? v.map { -$0 } : v }
        let maps: [Orientation.AxisMap]
        do { maps = try Orientation.axisMaps(affine: affine) } catch let e as ToolkitError {
            throw ToolkitError(e.kind, subject: source, e.message)
        }

        let dims = [first.width, first.height, count]
        var data = [Float]()
        data.reserveCapacity(dims[0] * dims[1] * dims[2])
        for (s, _) in ordered { data.append(contentsOf: s.values) }
        let r = Orientation.reorient(data: data, dims: dims, spacing: [dx, dy, abs(gap)], affine: affine, maps: maps)
        return Volume(dims: r.dims, spacing: r.spacing, data: r.data, affine: r.affine,
                      sourceOrientation: Orientation.codes(maps), source: source)
    }

    private static func dot(_ a: [Double], _ b: [Double]) -> Double { a[0] * b[0] + a[1] * b[1] + a[2] * b[2] }

    private static func cross(_ a: [Double], _ b: [Double]) -> [Double] {
        [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    }

    private static func normalised(_ v: [Double]) -> [Double]? {
        let n = dot(v, v).squareRoot()
        guard n > 0.99, n < 1.01 else { return nil }
        return v.map { $0 / n }
    }

    private static func fmt(_ v: Double) -> String { String(format: "%.4g", v) }
}

/// The one entry point for image volumes: a folder is a DICOM series (`DICOMSeries`), anything else a NIfTI file
/// (`NIfTIReader`). Label maps stay NIfTI: `NIfTIReader.readLabels(_:matching:)` checks them against either.
public enum VolumeReader {
    public static func read(_ url: URL) throws -> Volume {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
            return try DICOMSeries.read(url)
        }
        return try NIfTIReader.readVolume(url)
    }
}
