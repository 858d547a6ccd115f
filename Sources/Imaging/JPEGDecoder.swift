import CJPEG
import Diagnostics
import Foundation

/// JPEG input through libjpeg-turbo (no hand-written decoder).
public enum JPEGDecoder {
    /// Decodes a baseline or progressive JPEG: greyscale files give 1 channel, colour files 3 (RGB).
    public static func read(_ url: URL) throws -> Image8 {
        var w: UInt32 = 0, h: UInt32 = 0
        var ch: Int32 = 0
        var data: UnsafeMutablePointer<UInt8>?
        var err = [CChar](repeating: 0, count: 512)
        let rc = cjpeg_read(url.path, UInt64(ImageLimits.maxPixels), &w, &h, &ch, &data, &err, err.count)
        if rc == 6 { throw ImageLimits.tooLarge(url, width: Int(w), height: Int(h)) }
        guard rc == 0, let data else {
            throw ToolkitError(.invalidFile, subject: url.path, String(cString: err))
        }
        defer { cjpeg_free(data) }
        let count = Int(w) * Int(h) * Int(ch)
        return try Image8(width: Int(w), height: Int(h), channels: Int(ch),
                          pixels: Array(UnsafeBufferPointer(start: data, count: count)))
    }
}
