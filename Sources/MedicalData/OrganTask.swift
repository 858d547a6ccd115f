import Diagnostics

/// One few-shot task: a test organ, never seen in training, and the training organs.
public struct OrganTask: Sendable, Equatable {
    public let testOrgan: String
    public let trainingOrgans: [String]

    /// The protocol's four organs.
    public static let protocolOrgans = ["liver", "spleen", "left_kidney", "right_kidney"]

    /// The task with `testOrgan` held out and the other protocol organs (or `organs`) for training.
    public init(testOrgan: String, organs: [String] = OrganTask.protocolOrgans) throws {
        let test = LabelMap.normalise(testOrgan)
        let all = organs.map(LabelMap.normalise)
        guard all.contains(test) else {
            throw ToolkitError(.unknownOrgan, "unknown test organ '\(testOrgan)': expected one of \(all.joined(separator: ", "))")
        }
        self.testOrgan = test
        self.trainingOrgans = all.filter { $0 != test }
    }

    /// The task with `testOrgan` held out and `training` as its training organs: names of `labelMap`, or
    /// `["all"]` for every organ of the label map but the test organ (more kinds of structure to meta-train on
    /// than the protocol's three; the test organ stays unseen either way).
    public init(testOrgan: String, training: [String], labelMap: LabelMap) throws {
        let test = LabelMap.normalise(testOrgan)
        _ = try labelMap.id(of: test)
        var names: [String]
        if training.count == 1 && training[0].lowercased() == "all" {
            names = labelMap.organNames.filter { $0 != test }
        } else {
            names = []
            for name in training.map(LabelMap.normalise) where !names.contains(name) {
                _ = try labelMap.id(of: name)
                guard name != test else {
                    throw ToolkitError(.invalidArgument, "training organs: '\(name)' is the test organ, which training never sees; leave it out")
                }
                names.append(name)
            }
        }
        guard !names.isEmpty else {
            throw ToolkitError(.invalidArgument, "training organs: none left besides the test organ \(test) (label map \(labelMap.name): \(labelMap.organNames.joined(separator: ", ")))")
        }
        try self.init(testOrgan: test, organs: [test] + names)
    }

    /// The four protocol tasks (each organ once the test organ).
    public static var all: [OrganTask] { protocolOrgans.map { try! OrganTask(testOrgan: $0) } }
}
