import Diagnostics
import Foundation
import TestSupport
import XCTest
@testable import Formats

/// Training checkpoints (scripts/make_format_fixtures.py, `nested_training_checkpoints`): the state dict chosen
/// automatically is named, too many candidates are listed briefly with a suggestion, messages read well.
final class NestedCheckpointTests: XCTestCase {
    /// The notices posted while `body` runs.
    private func notices(_ body: () throws -> Void) rethrows -> [String] {
        final class Box: @unchecked Sendable { let lock = NSLock(); var items: [String] = [] }
        let box = Box()
        let old = Notices.install { m in box.lock.lock(); box.items.append(m); box.lock.unlock() }
        defer { Notices.install(old) }
        try body()
        return box.items
    }

    func testTheOnlyNestedStateDictIsChosenAndNamed() throws {
        var tensors = StateDict()
        let posted = try notices { tensors = try CheckpointReader.read(Fixtures.url("nested_ema.pth")).tensors }
        XCTAssertEqual(tensors.names, ["image_encoder.patch_embed.proj.bias", "mask_decoder.iou_token.weight"])
        XCTAssertEqual(posted.count, 1)
        XCTAssertTrue(posted.first?.contains("nested_ema.pth: using the state dict at 'state.ema'") == true, "\(posted)")
        // An explicit --key is the user's own choice: nothing to say.
        XCTAssertEqual(try notices { _ = try CheckpointReader.read(Fixtures.url("nested_ema.pth"), key: "state.ema") }, [])
    }

    func testManyCandidatesAreListedBrieflyWithTheModelSuggested() {
        XCTAssertThrowsError(try CheckpointReader.read(Fixtures.url("training_many_candidates.pth"))) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("15 candidate state dicts: optimizer.state.0, "), text)
            XCTAssertTrue(text.contains(", ... (5 more); choose one with --key (--key model is most likely the model's weights)"), text)
            XCTAssertLessThan(text.count, 400, text)
        }
    }

    func testKindsTakeTheirArticle() {
        XCTAssertThrowsError(try CheckpointReader.read(Fixtures.url("training_many_candidates.pth"), key: "epoch")) { e in
            XCTAssertTrue("\(e)".contains("key 'epoch' selects an int, not a dict of tensors"), "\(e)")
        }
        XCTAssertThrowsError(try CheckpointReader.read(Fixtures.url("training_many_candidates.pth"), key: "optimizer.param_groups")) { e in
            XCTAssertTrue("\(e)".contains("selects a list, not a dict of tensors"), "\(e)")
        }
    }

    /// The CLI prints notices on stderr.
    func testTheCLIPrintsTheChoice() throws {
        let r = try SSMSAMProcess.run(["inspect", Fixtures.url("nested_ema.pth").path], near: Bundle(for: Self.self))
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.err.contains("note: ") && r.err.contains("using the state dict at 'state.ema'"), r.err)
    }
}
