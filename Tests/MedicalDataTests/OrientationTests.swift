import Foundation
import MedicalData
import XCTest

/// NIfTI orientation handling against nibabel's `as_closest_canonical` (fixtures by scripts/make_data_fixtures.py).
final class OrientationTests: XCTestCase {
    func check(_ name: String) throws {
        let all = try TestPaths.json("orientation_expected.json")
        let e = try XCTUnwrap(all[name] as? [String: Any])
        let v = try NIfTIReader.readVolume(TestPaths.fixture("\(name).nii.gz"))
        XCTAssertEqual(v.sourceOrientation, e["stored_axcodes"] as? String, name)
        XCTAssertEqual(v.orientation, e["canonical_axcodes"] as? String, name)
        XCTAssertEqual(v.dims, e["shape"] as? [Int], name)
        let zooms = try XCTUnwrap(e["zooms"] as? [Double])
        for a in 0..<3 { XCTAssertEqual(v.spacing[a], zooms[a], accuracy: 1e-5, "\(name) spacing \(a)") }
        let affine = try XCTUnwrap(e["affine"] as? [[Double]])
        for r in 0..<4 {
            for c in 0..<4 { XCTAssertEqual(v.affine[r][c], affine[r][c], accuracy: 1e-4, "\(name) affine[\(r)][\(c)]") }
        }
        let data = try XCTUnwrap(e["data_xfastest"] as? [Double])
        XCTAssertEqual(v.data.count, data.count)
        for (a, b) in zip(v.data, data) { XCTAssertEqual(Double(a), b, accuracy: 1e-4, name) }
    }

    /// NIfTI-1, sform only, axes permuted and flipped, rotated 20 degrees and sheared.
    func testSformPermutedRotatedShearedMatchesNibabel() throws { try check("orient_sform") }

    /// NIfTI-2, qform only, LPS-like with a rotation, int16 with scl_slope 0.5 / scl_inter -10.
    func testNIfTI2QformWithScalingMatchesNibabel() throws { try check("orient_qform_nifti2") }

    func testHeaderReportsVersionAndStoredOrientation() throws {
        let h2 = try NIfTIReader.readHeader(TestPaths.fixture("orient_qform_nifti2.nii.gz"))
        XCTAssertEqual(h2.niftiVersion, 2)
        XCTAssertEqual(h2.orientation, "LPS")
        XCTAssertEqual(h2.dims, [5, 4, 3])
        let h1 = try NIfTIReader.readHeader(TestPaths.fixture("orient_sform.nii.gz"))
        XCTAssertEqual(h1.niftiVersion, 1)
        XCTAssertEqual(h1.orientation, "PIL")
    }

    func testAxisCodesOfSimpleAffines() throws {
        let lps: [[Double]] = [[-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
        XCTAssertEqual(Orientation.codes(try Orientation.axisMaps(affine: lps)), "LPS")
        let sag: [[Double]] = [[0, 0, 1, 0], [1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 0, 1]]
        XCTAssertEqual(Orientation.codes(try Orientation.axisMaps(affine: sag)), "AIR")
    }
}
