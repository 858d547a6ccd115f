import FewShot
import Foundation
import SAM
import TestSupport
import XCTest

/// `ssmsam meta-train` killed during an epoch (SIGKILL: no cleanup runs), then `--resume`: the run ends with
/// the same model, bit for bit, as a run that was never interrupted; with a validation split, whose best
/// epoch is the model and is recorded in run.json.
final class ResumeCLITests: XCTestCase {
    func testKilledMidEpochThenResumedGivesTheUninterruptedModel() throws {
        let (ct, labels, dir) = try FewShotFixtures.sharedCTRun(self, "resume")
        let base = try FewShotFixtures.writeTinyBase(in: dir)
        func arguments(_ out: URL) -> [String] {
            ["meta-train", "--base", base.path, "--volume", ct.path, "--labels", labels.path,
             "--test-organ", "liver", "--epochs", "3", "--steps", "1", "--queries", "1", "--chunks", "4", "--validation-every", "2",
             "--tasks", "2", "--seed", "3", "--out", out.path]
        }
        let straight = dir.appendingPathComponent("straight"), killed = dir.appendingPathComponent("killed")
        let r = try SSMSAMProcess.run(arguments(straight), near: Bundle(for: Self.self))
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("validation: ") && r.out.contains("held-out chunks (every 2nd chunk of each range)"), r.out)
        // The record names the chosen epoch: the best validation Dice of the history (the earliest among equals).
        let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: straight.appendingPathComponent("run.json"))) as? [String: Any])
        let history = try XCTUnwrap(record["history"] as? [[String: Any]])
        let dice = history.compactMap { $0["validation_dice"] as? Double }
        XCTAssertEqual(dice.count, 3, "\(history)")
        let checkpoint = try XCTUnwrap(record["checkpoint"] as? [String: Any], "\(record["checkpoint"] ?? "none")")
        let best = try XCTUnwrap(checkpoint["epoch"] as? Int)
        XCTAssertEqual(best, dice.firstIndex(of: dice.max()!))
        XCTAssertEqual(checkpoint["validation_dice"] as? Double, dice.max())
        XCTAssertFalse((record["training_organs"] as? [String] ?? ["liver"]).contains("liver"))
        let model = try Data(contentsOf: straight.appendingPathComponent("model.safetensors"))
        let last = try Data(contentsOf: straight.appendingPathComponent("last.safetensors"))
        XCTAssertEqual(model == last, best == 2, "model.safetensors is the best epoch's, last.safetensors the last one's")

        // The same run, killed once epoch 2 is saved (during epoch 3).
        let p = Process()
        p.executableURL = try SSMSAMProcess.binary(near: Bundle(for: Self.self))
        p.arguments = arguments(killed)
        let out = Pipe()
        (p.standardOutput, p.standardError) = (out, FileHandle.nullDevice)
        let printed = PrintedText()
        out.fileHandleForReading.readabilityHandler = { printed.append($0.availableData) }
        try p.run()
        let deadline = Date().addingTimeInterval(300)
        func seen(_ s: String) -> Bool { printed.text.contains(s) }
        while !seen("epoch 2/3") && p.isRunning && Date() < deadline { usleep(20_000) }
        XCTAssertTrue(seen("epoch 2/3"), printed.text)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        out.fileHandleForReading.readabilityHandler = nil
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        XCTAssertFalse(seen("epoch 3/3"), "killed too late: \(printed.text)")

        let resumed = try SSMSAMProcess.run(arguments(killed) + ["--resume"], near: Bundle(for: Self.self))
        XCTAssertEqual(resumed.code, 0, resumed.err)
        XCTAssert(resumed.out.contains("resumed") && resumed.out.contains("after epoch 2"), resumed.out)
        for file in ["model.safetensors", "last.safetensors", "state.safetensors"] {
            XCTAssertEqual(try Data(contentsOf: killed.appendingPathComponent(file)), try Data(contentsOf: straight.appendingPathComponent(file)), file)
        }
    }
}

/// What a child process printed so far, appended from the pipe's reader thread.
private final class PrintedText: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = ""
    func append(_ d: Data) { lock.lock(); buffer += String(decoding: d, as: UTF8.self); lock.unlock() }
    var text: String { lock.lock(); defer { lock.unlock() }; return buffer }
}
