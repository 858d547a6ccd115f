import FewShot
import Foundation
import SAM
import SSMSAM
import TestSupport
import XCTest

/// Ctrl-C during `ssmsam eval` as a user presses it: the run stops with 130 and leaves no partial folder.
final class InterruptTests: XCTestCase {
    func testInterruptedEvalLeavesNothing() throws {
        let (ct, labels, dir) = try FewShotFixtures.sharedCTRun(self, "interrupt")
        // The small models as files: the SSM-SAM model, and its SAM base (weights + config) for the baselines.
        let model = dir.appendingPathComponent("m.safetensors")
        try SSMSAMStore.save(try FewShotFixtures.tinyModel(), to: model)
        let base = try FewShotFixtures.writeTinyBase(in: dir)
        let p = Process()
        p.executableURL = try SSMSAMProcess.binary(near: Bundle(for: Self.self))
        p.arguments = ["eval", "--model", model.path, "--base", base.path, "--volume", ct.path,
                       "--labels", labels.path,
                       "--organs", "liver,spleen", "--chunks", "3", "--steps", "20", "--out", dir.appendingPathComponent("run").path]
        p.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        p.standardError = err
        try p.run()
        // Wait until the run's partial folder exists (work under way), then press Ctrl-C.
        let deadline = Date().addingTimeInterval(120)
        func partials() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.contains(".partial-") } }
        while partials().isEmpty && p.isRunning && Date() < deadline { usleep(50_000) }
        XCTAssertFalse(partials().isEmpty, "the run never started its output folder")
        usleep(300_000)
        p.interrupt()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 130, message)
        XCTAssertTrue(message.contains("interrupted"), message)
        XCTAssertEqual(partials(), [], "the partial folder is removed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("run").path))
    }
}
