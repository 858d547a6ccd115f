import Diagnostics
import Foundation
import MedicalData
import TestSupport
import XCTest

/// DICOM series through GDCM: fixtures written by pydicom beside the same arrays written as NIfTI by nibabel
/// (scripts/make_dicom_fixtures.py), checks on bad series, and the real JPEG 2000 CT series in ../shared.
final class DICOMSeriesTests: XCTestCase {
    static let realSeries = TestPaths.root.appendingPathComponent("../shared/data/abdomen-ct-dicom/series").standardizedFileURL
    static let realLabels = TestPaths.root.appendingPathComponent("../shared/data/abdomen-ct-dicom/labels.nii.gz").standardizedFileURL

    /// The series and its NIfTI twin must give identical Volumes (geometry within DS-string precision).
    func assertSame(_ series: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let d = try VolumeReader.read(TestPaths.fixture(series))
        let n = try VolumeReader.read(TestPaths.fixture(series + ".nii.gz"))
        XCTAssertEqual(d.dims, n.dims, file: file, line: line)
        XCTAssertEqual(d.orientation, "RAS", file: file, line: line)
        for a in 0..<3 { XCTAssertEqual(d.spacing[a], n.spacing[a], accuracy: 1e-6, "spacing \(a)", file: file, line: line) }
        for r in 0..<4 {
            for c in 0..<4 { XCTAssertEqual(d.affine[r][c], n.affine[r][c], accuracy: 1e-5, "affine [\(r)][\(c)]", file: file, line: line) }
        }
        XCTAssertEqual(d.data, n.data, "voxels", file: file, line: line)
        XCTAssertEqual(d.source, TestPaths.fixture(series).path, file: file, line: line)
    }

    func testTiltedShuffledUncompressedSeriesEqualsItsNIfTI() throws {
        try assertSame("dicom_tilted")
    }

    func testFlippedShuffledJPEG2000SeriesEqualsItsNIfTI() throws {
        try assertSame("dicom_flipped_j2k")
        // The slice axis runs against the normal in the NIfTI, along it in the series: stored codes differ,
        // the canonical volume does not.
        XCTAssertEqual(try NIfTIReader.readHeader(TestPaths.fixture("dicom_flipped_j2k.nii.gz")).orientation, "LAS")
    }

    func testLabelsOnTheNIfTIGridMatchTheSeries() throws {
        let d = try VolumeReader.read(TestPaths.fixture("dicom_tilted"))
        let labels = try NIfTIReader.readLabels(TestPaths.fixture("dicom_tilted.nii.gz"), matching: d)
        XCTAssertEqual(labels.dims, d.dims)
    }

    func testUnevenSpacingIsRefusedNamingTheFile() throws {
        let folder = TestPaths.fixture("dicom_uneven")
        XCTAssertThrowsError(try VolumeReader.read(folder)) { e in
            let t = e as? ToolkitError
            XCTAssertEqual(t?.kind, .invalidSeries)
            XCTAssertTrue(t?.subject.hasPrefix(folder.path + "/") == true, "\(e)")
            XCTAssertTrue(t?.message.contains("uneven slice spacing: expected 2 mm from the previous slice") == true, "\(e)")
            XCTAssertTrue(t?.message.contains("found 3 mm") == true, "\(e)")
            XCTAssertFalse("\(e)".contains("\n"))
        }
    }

    func slice(_ name: String, z: Double, width: Int = 2, orientation: [Double] = [1, 0, 0, 0, 1, 0],
               spacing: [Double] = [1, 1]) -> DICOMSeries.Slice {
        DICOMSeries.Slice(path: "/s/\(name)", width: width, height: 2, position: [0, 0, z], orientation: orientation,
                          pixelSpacing: spacing, values: [Float](repeating: 0, count: width * 2))
    }

    func testMixedSizesOrientationsSpacingsAndRepeatsAreRefused() {
        let cases: [([DICOMSeries.Slice], String, String)] = [
            ([slice("a", z: 0), slice("b", z: 1, width: 3)], "/s/b", "slice size 3 x 2 differs from 2 x 2 of /s/a"),
            ([slice("a", z: 0), slice("b", z: 1, orientation: [0, 1, 0, 1, 0, 0])], "/s/b", "(mixed orientations)"),
            ([slice("a", z: 0), slice("b", z: 1, spacing: [1, 2])], "/s/b", "PixelSpacing [1.0, 2.0] differs from [1.0, 1.0]"),
            ([slice("a", z: 0), slice("b", z: 1), slice("c", z: 1)], "/s/c", "same slice position as /s/b"),
        ]
        for (slices, subject, message) in cases {
            XCTAssertThrowsError(try DICOMSeries.assemble(slices, source: "/s")) { e in
                let t = e as? ToolkitError
                XCTAssertEqual(t?.kind, .invalidSeries, "\(e)")
                XCTAssertEqual(t?.subject, subject, "\(e)")
                XCTAssertTrue(t?.message.contains(message) == true, "\(e)")
            }
        }
        // Positions off the normal (a gantry tilt) are refused too.
        var b = slice("b", z: 1)
        b = DICOMSeries.Slice(path: b.path, width: 2, height: 2, position: [0.5, 0, 1], orientation: b.orientation,
                              pixelSpacing: b.pixelSpacing, values: b.values)
        XCTAssertThrowsError(try DICOMSeries.assemble([slice("a", z: 0), b, slice("c", z: 2)], source: "/s")) { e in
            XCTAssertTrue("\(e)".contains("off the slice normal"), "\(e)")
        }
    }

    func testAFileThatIsNotDICOMIsNamed() throws {
        let dir = try TestPaths.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let series = dir.appendingPathComponent("series")
        try FileManager.default.copyItem(at: TestPaths.fixture("dicom_tilted"), to: series)
        try Data("not an image".utf8).write(to: series.appendingPathComponent("notes.txt"))
        try Data().write(to: series.appendingPathComponent(".DS_Store"))  // hidden files are skipped
        XCTAssertThrowsError(try VolumeReader.read(series)) { e in
            let t = e as? ToolkitError
            XCTAssertEqual(t?.kind, .notDICOM, "\(e)")
            XCTAssertEqual(t?.subject, series.appendingPathComponent("notes.txt").path)
        }
        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        XCTAssertThrowsError(try VolumeReader.read(empty)) { e in
            XCTAssertTrue("\(e)".contains("the folder holds no files, expected DICOM slices"), "\(e)")
        }
    }

    /// The real series: 20 JPEG 2000 slices of 512 x 512, 0.977 mm pixels, 2 mm apart, and its label map.
    func testRealJPEG2000SeriesAndItsLabels() throws {
        try TestAssets.require(Self.realSeries, "the shared DICOM CT series", howToGet: "put the team's shared folder beside the repository (../shared/data/abdomen-ct-dicom)")
        try TestAssets.require(Self.realLabels, "the shared DICOM CT's labels", howToGet: "put the team's shared folder beside the repository (../shared/data/abdomen-ct-dicom)")
        let v = try VolumeReader.read(Self.realSeries)
        XCTAssertEqual(v.dims, [512, 512, 20])
        XCTAssertEqual(v.spacing[0], 0.9765625, accuracy: 1e-9)
        XCTAssertEqual(v.spacing[1], 0.9765625, accuracy: 1e-9)
        XCTAssertEqual(v.spacing[2], 2, accuracy: 1e-9)
        XCTAssertEqual(v.sourceOrientation, "LPS")
        // Canonical RAS: x and y flipped from LPS, slice 0 the most inferior (z = -804.5 mm).
        XCTAssertEqual(v.affine[0][0], 0.9765625, accuracy: 1e-9)
        XCTAssertEqual(v.affine[1][1], 0.9765625, accuracy: 1e-9)
        XCTAssertEqual(v.affine[2][2], 2, accuracy: 1e-9)
        XCTAssertEqual(v.affine[2][3], -804.5, accuracy: 1e-9)
        let r = v.intensityRange
        XCTAssertGreaterThanOrEqual(r.min, -2048)  // HU: air and the scanner's padding
        XCTAssertLessThanOrEqual(r.min, -900)
        XCTAssertGreaterThan(r.max, 500)  // bone
        XCTAssertLessThan(r.max, 4000)
        let labels = try NIfTIReader.readLabels(Self.realLabels, matching: v)
        XCTAssertEqual(labels.dims, v.dims)
        XCTAssertGreaterThan(labels.voxelCount(try LabelMap.totalSegmentator.id(of: "liver")), 0)
    }

    /// GDCM's decoding, the order and the canonical grid against pydicom + pylibjpeg-openjpeg + nibabel on the real
    /// series (dicom_real_expected.json, scripts/make_dicom_fixtures.py).
    func testRealSeriesMatchesPydicomAndNibabel() throws {
        try TestAssets.require(Self.realSeries, "the shared DICOM CT series", howToGet: "put the team's shared folder beside the repository (../shared/data/abdomen-ct-dicom)")
        let expected = try TestPaths.json("dicom_real_expected.json")
        let v = try VolumeReader.read(Self.realSeries)
        XCTAssertEqual(v.dims, expected["shape"] as? [Int])
        XCTAssertEqual(v.spacing, expected["zooms"] as? [Double])
        XCTAssertEqual(v.sourceOrientation, expected["source_codes"] as? String)
        let affine = try XCTUnwrap(expected["affine"] as? [[Double]])
        for r in 0..<4 { for c in 0..<4 { XCTAssertEqual(v.affine[r][c], affine[r][c], accuracy: 1e-9, "affine [\(r)][\(c)]") } }
        let range = v.intensityRange
        XCTAssertEqual(Double(range.min), expected["min"] as? Double)
        XCTAssertEqual(Double(range.max), expected["max"] as? Double)
        let sums = try XCTUnwrap(expected["slice_sums"] as? [Double])
        let n = v.dims[0] * v.dims[1]
        for k in 0..<v.dims[2] {
            let sum = v.data[(k * n)..<((k + 1) * n)].reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(sum, sums[k], "slice \(k)")
        }
        for sample in try XCTUnwrap(expected["samples"] as? [[Double]]) {
            let (i, j, k) = (Int(sample[0]), Int(sample[1]), Int(sample[2]))
            XCTAssertEqual(Double(v[i, j, k]), sample[3], "voxel (\(i), \(j), \(k))")
        }
    }

    func testDataInspectAcceptsASeriesFolder() throws {
        try TestAssets.require(Self.realSeries, "the shared DICOM CT series", howToGet: "put the team's shared folder beside the repository (../shared/data/abdomen-ct-dicom)")
        let r = try SSMSAMProcess.run(["data", "inspect", Self.realSeries.path, "--labels", Self.realLabels.path, "--json"],
                                      near: Bundle(for: Self.self))
        XCTAssertEqual(r.code, 0, r.err)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        XCTAssertEqual(json["shape"] as? [Int], [512, 512, 20])
        XCTAssertEqual(json["orientation"] as? String, "RAS")
    }
}
