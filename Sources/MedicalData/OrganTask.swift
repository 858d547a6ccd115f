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

    /// The four protocol tasks (each organ once the test organ).
    public static var all: [OrganTask] { protocolOrgans.map { try! OrganTask(testOrgan: $0) } }
}
