import Foundation

/// Wall-time accounting per named stage, for benchmark reports (`SSMSAM_PROFILE=1`). Off by default:
/// then `measure` only runs its body.
public final class Profiler: @unchecked Sendable {
    public static let shared = Profiler()
    /// Whether stages are timed (from the environment at start-up, or set by a benchmark).
    public var enabled: Bool {
        get { lock.lock(); defer { lock.unlock() }; return isEnabled }
        set { lock.lock(); isEnabled = newValue; lock.unlock() }
    }
    private var isEnabled = ProcessInfo.processInfo.environment["SSMSAM_PROFILE"] == "1"
    private var totals: [String: (seconds: Double, calls: Int)] = [:]
    private let lock = NSLock()

    /// Runs `body`, adding its wall time to `stage` when enabled.
    @inline(__always)
    public func measure<T>(_ stage: String, _ body: () throws -> T) rethrows -> T {
        guard enabled else { return try body() }
        let t0 = DispatchTime.now().uptimeNanoseconds
        defer {
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            lock.lock(); totals[stage, default: (0, 0)].seconds += dt; totals[stage, default: (0, 0)].calls += 1; lock.unlock()
        }
        return try body()
    }

    /// Clears all totals.
    public func reset() { lock.lock(); totals = [:]; lock.unlock() }

    /// A table of stages by descending time, with their share of `total` (or of their sum).
    public func report(total: Double? = nil) -> String {
        lock.lock(); defer { lock.unlock() }
        let sum = total ?? totals.values.reduce(0) { $0 + $1.seconds }
        return totals.sorted { $0.value.seconds > $1.value.seconds }.map { name, v in
            String(format: "  %-28@ %8.3f s %6.1f%%  %6d calls", name as NSString, v.seconds, 100 * v.seconds / max(sum, 1e-12), v.calls)
        }.joined(separator: "\n")
    }
}
