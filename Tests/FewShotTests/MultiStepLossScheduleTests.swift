import Diagnostics
import FewShot
import TensorCore
import XCTest

/// The multi-step loss weights against values derived by hand from the design note's formula, and the
/// outer rate's cosine annealing against its closed form.
final class MultiStepLossScheduleTests: XCTestCase {
    private func check(_ n: Int, _ e: Int, _ epoch: Int, _ expected: [Double], file: StaticString = #filePath, line: UInt = #line) throws {
        let w = try MultiStepLossSchedule(steps: n, annealingEpochs: e).weights(epoch: epoch)
        XCTAssertEqual(w.count, expected.count, file: file, line: line)
        for (i, (a, b)) in zip(w, expected).enumerated() {
            XCTAssertEqual(Double(a), b, accuracy: 1e-7, "N \(n), E \(e), epoch \(epoch), step \(i)", file: file, line: line)
        }
    }

    func testFiveStepsTenEpochs() throws {
        // 1/N = 0.2, decay 1/(N E) = 0.02 per epoch on the first four, 4 x 0.02 = 0.08 onto the last.
        try check(5, 10, 0, [0.2, 0.2, 0.2, 0.2, 0.2])
        try check(5, 10, 1, [0.18, 0.18, 0.18, 0.18, 0.28])
        try check(5, 10, 5, [0.1, 0.1, 0.1, 0.1, 0.6])
        try check(5, 10, 9, [0.02, 0.02, 0.02, 0.02, 0.92])
        // From epoch E on: the last step only.
        try check(5, 10, 10, [0, 0, 0, 0, 1])
        try check(5, 10, 37, [0, 0, 0, 0, 1])
    }

    func testFloorsBind() throws {
        // N 5, E 50, epoch 49: 0.2 - 49/250 = 0.004 < 0.03/5 = 0.006; 0.2 + 196/250 = 0.984 > 1 - 4 x 0.006 = 0.976.
        try check(5, 50, 49, [0.006, 0.006, 0.006, 0.006, 0.976])
        // N 5, E 3, epoch 2: 0.2 - 2/15, 0.2 + 8/15.
        try check(5, 3, 2, [0.2 - 2.0 / 15, 0.2 - 2.0 / 15, 0.2 - 2.0 / 15, 0.2 - 2.0 / 15, 0.2 + 8.0 / 15])
    }

    func testOtherStepCounts() throws {
        try check(3, 4, 1, [0.25, 0.25, 0.5])  // the parity fixture's epoch
        try check(2, 1, 0, [0.5, 0.5])
        try check(2, 1, 1, [0, 1])
        try check(1, 5, 0, [1])
        try check(4, 0, 0, [0, 0, 0, 1])  // no annealing: the last step from the start
    }

    func testWeightsSumToOneWhileAnnealing() throws {
        for n in 1...6 { for e in 1...12 { for epoch in 0..<e {
            let w = try MultiStepLossSchedule(steps: n, annealingEpochs: e).weights(epoch: epoch)
            XCTAssertEqual(w.reduce(0, +), 1, accuracy: 1e-6, "N \(n), E \(e), epoch \(epoch)")
        } } }
    }

    func testBadSettingsAreErrors() {
        XCTAssertThrowsError(try MultiStepLossSchedule(steps: 0, annealingEpochs: 3)) { e in
            XCTAssertEqual((e as? ToolkitError)?.kind, .invalidArgument)
            XCTAssertTrue("\(e)".contains("inner step"), "\(e)")
        }
        XCTAssertThrowsError(try MultiStepLossSchedule(steps: 3, annealingEpochs: -1))
    }

    func testCosineAnnealingOfTheOuterRate() {
        // CosineAnnealingLR(T_max = 50, eta_min = 1e-7) from 2e-4: eta_min + (base - eta_min)(1 + cos(pi t / 50)) / 2.
        let c = CosineAnnealing(baseLearningRate: 2e-4, tMax: 50, etaMin: 1e-7)
        XCTAssertEqual(c.learningRate(at: 0), 2e-4, accuracy: 1e-10)
        XCTAssertEqual(c.learningRate(at: 25), (2e-4 + 1e-7) / 2, accuracy: 1e-10)
        XCTAssertEqual(c.learningRate(at: 50), 1e-7, accuracy: 1e-10)
        XCTAssertEqual(Double(c.learningRate(at: 10)), 1e-7 + (2e-4 - 1e-7) * (1 + cos(Double.pi / 5)) / 2, accuracy: 1e-10)
    }
}
