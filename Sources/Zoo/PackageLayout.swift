/// The fixed file names of a zoo package and the rule for the relative paths it may hold.
public enum PackageLayout {
    public static let manifest = "manifest.json"
    public static let weights = "weights.safetensors"
    public static let card = "README.md"
    public static let goldenImage = "golden/input.png"
    public static let goldenPrompts = "golden/prompts.json"
    public static let goldenOutputs = "golden/outputs.safetensors"
    /// SSM-SAM: the run's record (protocol.md: data, setting, organ, steps, seed, Dice, times).
    public static let record = "record.json"
    /// The detached Ed25519 signature of `manifest.json` (not listed in it: it signs it).
    public static let signature = "signature.json"

    /// Why `path` cannot be a package file, or nil: paths are relative, `/`-separated, with no empty,
    /// `.` or `..` components and no backslashes or control characters, so no file can land outside
    /// the package folder.
    public static func pathProblem(_ path: String) -> String? {
        if path.isEmpty { return "empty path" }
        if path.hasPrefix("/") { return "absolute path" }
        if path.contains("\\") || path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            return "backslash or control character in the path"
        }
        if path.utf8.count > 255 { return "path longer than 255 bytes" }
        for c in path.split(separator: "/", omittingEmptySubsequences: false) {
            if c.isEmpty || c == "." || c == ".." { return "path component '\(c)' is not allowed" }
        }
        return nil
    }
}
