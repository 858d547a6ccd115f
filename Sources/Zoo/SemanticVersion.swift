/// A semantic version `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]` (semver.org 2.0), ordered by precedence.
public struct SemanticVersion: Comparable, CustomStringConvertible, Sendable, Hashable {
    public let major: Int, minor: Int, patch: Int
    public let prerelease: [String]
    public let build: String?

    /// Parses `text`; nil when it is not a semantic version.
    public init?(_ text: String) {
        var rest = Substring(text)
        var build: String? = nil
        if let plus = rest.firstIndex(of: "+") {
            build = String(rest[rest.index(after: plus)...])
            rest = rest[..<plus]
            guard let b = build, !b.isEmpty, b.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(Self.isIdentifier) else { return nil }
        }
        var pre: [String] = []
        if let dash = rest.firstIndex(of: "-") {
            pre = rest[rest.index(after: dash)...].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            rest = rest[..<dash]
            guard !pre.isEmpty, pre.allSatisfy({ Self.isIdentifier(Substring($0)) }) else { return nil }
        }
        let core = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard core.count == 3 else { return nil }
        var numbers: [Int] = []
        for part in core {
            guard !part.isEmpty, part.allSatisfy(\.isASCIIDigit), part == "0" || !part.hasPrefix("0"),
                  part.count <= 9, let n = Int(part) else { return nil }
            numbers.append(n)
        }
        (major, minor, patch, prerelease, self.build) = (numbers[0], numbers[1], numbers[2], pre, build)
    }

    private static func isIdentifier(_ s: Substring) -> Bool {
        !s.isEmpty && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }

    public var description: String {
        "\(major).\(minor).\(patch)" + (prerelease.isEmpty ? "" : "-" + prerelease.joined(separator: "."))
            + (build.map { "+" + $0 } ?? "")
    }

    public static func < (a: SemanticVersion, b: SemanticVersion) -> Bool {
        if (a.major, a.minor, a.patch) != (b.major, b.minor, b.patch) { return (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch) }
        // A pre-release sorts before its release; identifiers compare numerically when both are numbers.
        if a.prerelease.isEmpty || b.prerelease.isEmpty { return !a.prerelease.isEmpty && b.prerelease.isEmpty }
        for (x, y) in zip(a.prerelease, b.prerelease) where x != y {
            switch (Int(x), Int(y)) {
            case let (i?, j?): return i < j
            case (.some, nil): return true
            case (nil, .some): return false
            default: return x < y
            }
        }
        return a.prerelease.count < b.prerelease.count
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
