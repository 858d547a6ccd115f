import Diagnostics
import Foundation
import MedicalData
import XCTest

/// Label maps written on a reference file's own grid: read back, they equal what was written, with the
/// reference's header geometry, also for references whose voxel axes are permuted and flipped.
final class NIfTIWriterTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("nifti-writer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testRoundTripOnPermutedAndFlippedReferences() throws {
        // orient_sform: permuted, rotated and sheared axes; orient_qform_nifti2: a NIfTI-2 qform with scaling.
        for name in ["orient_sform", "orient_qform_nifti2", "grid_labels"] {
            let reference = TestPaths.fixture("\(name).nii.gz")
            let read = try NIfTIReader.readVolume(reference)
            // Any labels on its canonical grid: a pattern that tells every voxel apart from its neighbours.
            let labels: [Int32] = (0..<read.data.count).map { (i: Int) -> Int32 in Int32((i * 7 + i / 13) % 5) }
            let lv = LabelVolume(dims: read.dims, spacing: read.spacing, labels: labels, affine: read.affine)
            let out = dir.appendingPathComponent("\(name)_pred.nii.gz")
            try NIfTIWriter.writeLabels(lv, like: reference, to: out)
            let back = try NIfTIReader.readLabels(out)
            XCTAssertEqual(back.dims, read.dims, name)
            XCTAssertEqual(back.labels, labels, name)
            for (a, b) in zip(back.affine.joined(), read.affine.joined()) { XCTAssertEqual(a, b, accuracy: 1e-5, name) }
            let h = try NIfTIReader.readHeader(out), r = try NIfTIReader.readHeader(reference)
            XCTAssertEqual(h.dims, r.dims, name)
            XCTAssertEqual(h.orientation, r.orientation, name)
            XCTAssertEqual(h.datatype, 2, "\(name): stored as uint8")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "no temporary file is left")
    }

    func testBadLabelsAndNamesAreRefusedAndLeaveNothing() throws {
        let reference = TestPaths.fixture("grid_labels.nii.gz")
        let read = try NIfTIReader.readLabels(reference)
        let wrongGrid = LabelVolume(dims: [2, 2, 2], spacing: [1, 1, 1], labels: [Int32](repeating: 0, count: 8), affine: read.affine)
        XCTAssertThrowsError(try NIfTIWriter.writeLabels(wrongGrid, like: reference, to: dir.appendingPathComponent("a.nii.gz"))) {
            XCTAssertEqual(($0 as? ToolkitError)?.kind, .mismatch)
        }
        var big = read.labels
        big[0] = 300
        let tooBig = LabelVolume(dims: read.dims, spacing: read.spacing, labels: big, affine: read.affine)
        XCTAssertThrowsError(try NIfTIWriter.writeLabels(tooBig, like: reference, to: dir.appendingPathComponent("b.nii.gz"))) {
            XCTAssertEqual(($0 as? ToolkitError)?.kind, .invalidLabels)
        }
        XCTAssertThrowsError(try NIfTIWriter.writeLabels(read, like: reference, to: dir.appendingPathComponent("c.png"))) {
            XCTAssertEqual(($0 as? ToolkitError)?.kind, .unsupported)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }
}
