import Diagnostics

/// A model named as `ID` or `ID@VERSION`, e.g. `ssm-sam/vit_b/liver@1.0.0`.
public struct ModelReference: CustomStringConvertible, Sendable, Hashable {
    public let id: String
    /// Nil means "the newest installed version".
    public let version: SemanticVersion?

    public init(id: String, version: SemanticVersion?) { (self.id, self.version) = (id, version) }

    /// Parses `ID[@VERSION]`, checking both parts.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        if let problem = ModelReference.problem(id: parts[0]) { throw ToolkitError(.invalidArgument, "'\(text)': \(problem)") }
        var version: SemanticVersion? = nil
        if parts.count == 2 {
            guard let v = SemanticVersion(parts[1]) else {
                throw ToolkitError(.invalidArgument, "'\(text)': '\(parts[1])' is not a semantic version (expected MAJOR.MINOR.PATCH, e.g. 1.0.0)")
            }
            version = v
        }
        self.init(id: parts[0], version: version)
    }

    public var description: String { version.map { "\(id)@\($0)" } ?? id }

    /// Why `id` is not a valid model id, or nil when it is: one to five `/`-separated components of
    /// lowercase letters, digits, `_`, `.` and single `-`, each starting with a letter or digit.
    public static func problem(id: String) -> String? {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...5).contains(parts.count) else { return "a model id has 1 to 5 components separated by '/' (e.g. ssm-sam/vit_b/liver)" }
        for p in parts {
            guard let first = p.first, first.isASCII, first.isLetter || first.isNumber else {
                return "id component '\(p)' must start with a letter or digit"
            }
            guard p.count <= 64, p.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || "_.-".contains($0)) }),
                  !p.contains("--"), !p.contains("..") else {
                return "id component '\(p)' may hold only lowercase letters, digits, '_', '.' and single '-' (at most 64)"
            }
        }
        return nil
    }
}
