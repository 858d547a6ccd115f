import Foundation

/// `--json` output: one JSON document on stdout, keys sorted so that scripts and diffs see a stable text.
enum JSONOutput {
    /// Prints `object` (dictionaries, arrays, strings, numbers, booleans, NSNull) as JSON on stdout.
    static func print(_ object: Any, pretty: Bool = true) throws {
        let options: JSONSerialization.WritingOptions = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                                                               : [.sortedKeys, .withoutEscapingSlashes]
        Swift.print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: options), as: UTF8.self))
    }

    /// Writes a line of human-readable progress to stderr, which keeps stdout a single JSON document.
    static func note(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}
