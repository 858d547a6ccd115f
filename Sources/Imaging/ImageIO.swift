import Diagnostics
import Foundation

/// Reading any supported image by its content (not its name) and writing PNGs.
public enum ImageIO {
    /// Reads a PNG or JPEG, recognised by its first bytes.
    public static func read(_ url: URL) throws -> Image8 {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ToolkitError(.invalidArgument, subject: url.path, "is a folder, expected a PNG or JPEG image file")
        }
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            let exists = FileManager.default.fileExists(atPath: url.path)
            throw ToolkitError(.missingFile, subject: url.path, exists ? "cannot open for reading" : "no such file")
        }
        let head = (try? handle.read(upToCount: 8)) ?? Data()
        try? handle.close()
        let bytes = [UInt8](head)
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return try PNGCodec.read(url) }
        if bytes.starts(with: [0xFF, 0xD8]) { return try JPEGDecoder.read(url) }
        let hex = bytes.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")
        throw ToolkitError(.invalidFile, subject: url.path, "not a PNG or JPEG image (expected 89 50 4e 47 or ff d8, found \(hex.isEmpty ? "an empty file" : hex))")
    }

    /// Writes a PNG atomically.
    public static func writePNG(_ image: Image8, to url: URL) throws {
        try PNGCodec.write(image, to: url)
    }
}
