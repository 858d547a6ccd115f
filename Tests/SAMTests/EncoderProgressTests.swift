import Foundation
import TensorCore
import XCTest
@testable import SAM

/// `EncoderProgress`: every block of an encoder run reported once, in order, for both encoder families; nothing
/// reported outside `reporting`.
final class EncoderProgressTests: XCTestCase {
    private final class Seen: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [[Int]] = []
        func add(_ done: Int, _ total: Int) { lock.lock(); list.append([done, total]); lock.unlock() }
        var all: [[Int]] { lock.lock(); defer { lock.unlock() }; return list }
    }

    private func assertReportsEveryBlock(_ encoder: any SAMImageEncoder, blocks: Int, _ label: String) {
        let s = encoder.inputSize
        let input = Tensor(shape: [1, 3, s, s], repeating: 0.25)
        let seen = Seen()
        let inside = EncoderProgress.reporting(to: { seen.add($0, $1) }) { encoder.encode(input).embedding }
        XCTAssertEqual(seen.all, (1...blocks).map { [$0, blocks] }, label)
        // The same numbers with nobody listening, and nothing reported after the scope.
        XCTAssertEqual(encoder.encode(input).embedding.data, inside.data, label)
        XCTAssertEqual(seen.all.count, blocks, label)
    }

    func testViTReportsEachBlock() throws {
        let encoder = try XCTUnwrap(try SAMFixtures.model().imageEncoder as? ImageEncoderViT)
        XCTAssertGreaterThan(encoder.blocks.count, 1)
        assertReportsEveryBlock(encoder, blocks: encoder.blocks.count, "ViT")
    }

    func testTinyViTReportsEachBlockAcrossStages() throws {
        let encoder = try XCTUnwrap(try MobileSAMFixtures.smallModel().imageEncoder as? ImageEncoderTinyViT)
        XCTAssertGreaterThan(encoder.stageEnds.count, 1)
        assertReportsEveryBlock(encoder, blocks: encoder.blockCount, "TinyViT")
    }
}
