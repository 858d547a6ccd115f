import CKernels
import XCTest

/// The element-wise kernels' dispatch levels this CPU runs — scalar, AVX2 + FMA, AVX-512 as far as it has
/// them — so tests check every path, not only the best one the machine picks.
enum DispatchLevels {
    /// The levels available here, lowest first, with the names tests print.
    static var available: [(level: Int32, name: String)] {
        let previous = ssm_kernels_limit(-1)
        defer { _ = ssm_kernels_limit(previous) }
        var levels: [(Int32, String)] = [(0, "scalar")]
        if ssm_kernels_vectorized() != 0 { levels.append((1, "AVX2")) }
        if ssm_kernels_avx512() != 0 { levels.append((2, "AVX-512")) }
        return levels
    }

    /// Runs `body` once per available level with the kernels capped at it (the name passed in), then lifts the cap.
    static func forEach(_ body: (String) throws -> Void) rethrows {
        for (level, name) in available {
            let previous = ssm_kernels_limit(level)
            defer { _ = ssm_kernels_limit(previous) }
            try body(name)
        }
    }
}

/// The cap itself: each level turns the faster paths off, and lifting it restores the CPU's best.
final class DispatchLevelTests: XCTestCase {
    func testCapSelectsTheLevel() {
        let best = DispatchLevels.available.last!.level
        let previous = ssm_kernels_limit(0)
        defer { _ = ssm_kernels_limit(previous) }
        XCTAssertEqual(ssm_kernels_vectorized(), 0)
        XCTAssertEqual(ssm_kernels_avx512(), 0)
        _ = ssm_kernels_limit(1)
        XCTAssertEqual(ssm_kernels_avx512(), 0)
        XCTAssertEqual(ssm_kernels_vectorized(), best >= 1 ? 1 : 0)
        _ = ssm_kernels_limit(-1)
        XCTAssertEqual(ssm_kernels_avx512(), best >= 2 ? 1 : 0)
        XCTAssertEqual(ssm_kernels_limit(-1), 2, "-1 lifts the cap to the top level")
    }
}
