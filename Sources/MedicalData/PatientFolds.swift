import Diagnostics

/// Patient-level cross-validation folds: patients (sorted) are split into `k` contiguous groups of sizes
/// differing by at most one (first groups larger); fold `i` tests on group `i` and trains on the rest,
/// so no patient is ever on both sides.
public struct PatientFolds: Sendable {
    public let groups: [[String]]

    public init(patients: [String], k: Int) throws {
        let unique = Array(Set(patients)).sorted()
        guard k >= 2, k <= unique.count else {
            throw ToolkitError(.invalidArgument, "need 2 <= folds <= patients, got \(k) folds for \(unique.count) patients")
        }
        var groups: [[String]] = []
        var start = 0
        for i in 0..<k {
            let size = unique.count / k + (i < unique.count % k ? 1 : 0)
            groups.append(Array(unique[start..<(start + size)]))
            start += size
        }
        self.groups = groups
    }

    /// The training and test patients of fold `i`.
    public func fold(_ i: Int) throws -> (train: [String], test: [String]) {
        guard i >= 0 && i < groups.count else {
            throw ToolkitError(.invalidArgument, "fold \(i) is outside 0...\(groups.count - 1)")
        }
        return (groups.enumerated().filter { $0.offset != i }.flatMap(\.element), groups[i])
    }

    /// The cases of `dataset` in fold `i`'s training and test splits.
    public func split(_ dataset: Dataset, fold i: Int) throws -> (train: [DatasetCase], test: [DatasetCase]) {
        let f = try fold(i)
        let test = Set(f.test)
        return (dataset.cases.filter { !test.contains($0.patient) }, dataset.cases.filter { test.contains($0.patient) })
    }
}
