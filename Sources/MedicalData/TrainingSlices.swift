import Diagnostics

/// Which training slices a setting allows.
public enum TrainingSetting: String, Sendable, CaseIterable {
    /// Training slices may contain the test organ (it is then unlabelled, i.e. background).
    case setting1
    /// Every slice containing the test organ is removed from training.
    case setting2
}

/// A training slice: a volume of the training split, an axial slice and the training organs it shows.
public struct TrainingSlice: Sendable, Equatable {
    public let volume: Int
    public let slice: Int
    public let organs: [String]
}

/// Selecting training slices for a task and setting.
public enum TrainingSlices {
    /// The slices of `volumes` (training split only) containing at least one training organ, minus, in
    /// Setting 2, every slice containing the test organ.
    public static func select(_ volumes: [LabelVolume], task: OrganTask, setting: TrainingSetting,
                              labelMap: LabelMap) throws -> [TrainingSlice] {
        let testId = try labelMap.id(of: task.testOrgan)
        let training = try task.trainingOrgans.map { ($0, try labelMap.id(of: $0)) }
        var out: [TrainingSlice] = []
        for (v, labels) in volumes.enumerated() {
            let n = labels.dims[0] * labels.dims[1]
            for k in 0..<labels.dims[2] {
                let present = Set(labels.labels[(k * n)..<((k + 1) * n)])
                if setting == .setting2 && present.contains(testId) { continue }
                let organs = training.filter { present.contains($0.1) }.map(\.0)
                if !organs.isEmpty { out.append(TrainingSlice(volume: v, slice: k, organs: organs)) }
            }
        }
        return out
    }

    /// The binary training mask of `organ` on a slice; the test organ never appears in a training mask
    /// because only training organs can be asked for.
    public static func mask(_ labels: LabelVolume, slice: Int, organ: String, task: OrganTask,
                            labelMap: LabelMap) throws -> [UInt8] {
        let name = LabelMap.normalise(organ)
        guard task.trainingOrgans.contains(name) else {
            throw ToolkitError(.invalidArgument, "'\(organ)' is not a training organ of the task (test organ \(task.testOrgan))")
        }
        return labels.mask(slice: slice, label: try labelMap.id(of: name))
    }
}
