import Diagnostics
import Foundation
import MedicalData
import XCTest

/// Bad input gives thrown errors with messages naming the file and the problem, never a crash.
final class BadInputTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try TestPaths.tempDir() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func expect(_ kind: ToolkitError.Kind, containing parts: [String], _ body: () throws -> Void,
                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let e = error as? ToolkitError else { return XCTFail("unexpected error \(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, kind, "\(e)", file: file, line: line)
            for p in parts { XCTAssertTrue(e.description.contains(p), "'\(e)' lacks '\(p)'", file: file, line: line) }
        }
    }

    func testMissingFile() {
        let url = dir.appendingPathComponent("nope.nii.gz")
        expect(.missingFile, containing: [url.path, "no such file"]) { _ = try NIfTIReader.readVolume(url) }
        expect(.missingFile, containing: [url.path]) { _ = try NIfTIReader.readLabels(url) }
    }

    func testNonNIfTIFile() throws {
        let url = dir.appendingPathComponent("notes.nii")
        try Data("this is not a volume, just some text long enough to fill a header? no.".utf8).write(to: url)
        expect(.notNIfTI, containing: [url.path, "not a NIfTI file"]) { _ = try NIfTIReader.readVolume(url) }
        let png = dir.appendingPathComponent("image.nii.gz")
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: 600)).write(to: png)
        expect(.notNIfTI, containing: [png.path]) { _ = try NIfTIReader.readVolume(png) }
        expect(.notNIfTI, containing: [dir.path, "folder"]) { _ = try NIfTIReader.readVolume(self.dir) }
    }

    func testTruncatedGzip() throws {
        try TestPaths.requireCT()
        let full = try Data(contentsOf: TestPaths.ct)
        let url = dir.appendingPathComponent("truncated.nii.gz")
        try full.prefix(full.count / 3).write(to: url)
        expect(.invalidFile, containing: [url.path, "truncated or corrupt"]) { _ = try NIfTIReader.readVolume(url) }
    }

    func testMismatchedGrids() throws {
        let image = try NIfTIReader.readVolume(TestPaths.fixture("grid_image.nii.gz"))
        XCTAssertNoThrow(try NIfTIReader.readLabels(TestPaths.fixture("grid_labels.nii.gz"), matching: image))
        let shifted = TestPaths.fixture("grid_labels_shifted.nii.gz")
        expect(.gridMismatch, containing: [shifted.path, "affine", "expected -10.0, found -5.0"]) {
            _ = try NIfTIReader.readLabels(shifted, matching: image)
        }
        let wrong = TestPaths.fixture("grid_labels_wrongdims.nii.gz")
        expect(.gridMismatch, containing: [wrong.path, "dims [4, 5, 3]", "[4, 4, 3]"]) {
            _ = try NIfTIReader.readLabels(wrong, matching: image)
        }
    }

    func testUnknownOrgan() throws {
        expect(.unknownOrgan, containing: ["pancreas", "liver", "spleen"]) {
            _ = try LabelMap.totalSegmentator.id(of: "pancreas")
        }
        expect(.unknownOrgan, containing: ["pancreas"]) { _ = try OrganTask(testOrgan: "pancreas") }
        let image = try NIfTIReader.readVolume(TestPaths.fixture("grid_image.nii.gz"))
        let labels = try NIfTIReader.readLabels(TestPaths.fixture("grid_labels.nii.gz"), matching: image)
        expect(.unknownOrgan, containing: ["stomach"]) {
            _ = try FewShotTestCase(volume: image, labels: labels, organ: "stomach", labelMap: .synapse, chunks: 1)
        }
        // A known organ that is absent from the label map is a different, clear error.
        expect(.invalidLabels, containing: ["absent", "spleen"]) {
            _ = try FewShotTestCase(volume: image, labels: labels, organ: "spleen", labelMap: .totalSegmentator, chunks: 1)
        }
    }

    func testTooManyChunks() throws {
        let image = try NIfTIReader.readVolume(TestPaths.fixture("grid_image.nii.gz"))
        let labels = try NIfTIReader.readLabels(TestPaths.fixture("grid_labels.nii.gz"), matching: image)
        expect(.invalidArgument, containing: ["1 slices", "2 chunks"]) {
            _ = try FewShotTestCase(volume: image, labels: labels, organ: "liver", labelMap: .totalSegmentator, chunks: 2)
        }
    }

    func testNonIntegerLabels() throws {
        expect(.invalidLabels, containing: ["integers"]) {
            _ = try NIfTIReader.readLabels(TestPaths.fixture("grid_image.nii.gz"))
        }
    }
}
