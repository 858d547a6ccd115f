import MedicalData
import XCTest

/// The demo's fallback phantom: on one grid, its organ on every slice and moving, reproducible by seed.
final class SyntheticPhantomTests: XCTestCase {
    func testOrganOnEverySliceOnTheVolumesGridAndSeeded() throws {
        let (v, l) = SyntheticPhantom.make(width: 40, height: 32, slices: 6, seed: 3)
        XCTAssertEqual(v.dims, [40, 32, 6])
        XCTAssertEqual(l.dims, v.dims)
        XCTAssertEqual(l.affine, v.affine)
        XCTAssertEqual(l.slicesContaining(SyntheticPhantom.organID), Array(0..<6))
        XCTAssertNotEqual(l.mask(slice: 0, label: SyntheticPhantom.organID), l.mask(slice: 5, label: SyntheticPhantom.organID))
        XCTAssertEqual(SyntheticPhantom.make(width: 40, height: 32, slices: 6, seed: 3).0.data, v.data)
        XCTAssertNotEqual(SyntheticPhantom.make(width: 40, height: 32, slices: 6, seed: 4).0.data, v.data)
        // Organ voxels are brighter than the surrounding tissue on average.
        let organ = (0..<v.data.count).filter { l.labels[$0] == SyntheticPhantom.organID }.map { v.data[$0] }
        XCTAssertEqual(Double(organ.reduce(0, +)) / Double(organ.count), 60, accuracy: 2)
    }
}
