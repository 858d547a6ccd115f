import CPNG
import Diagnostics
import FileIO
import Foundation

/// PNG input and output through libpng (no hand-written codec).
public enum PNGCodec {
    /// Reads a PNG as 8-bit grey or RGB: palette images become RGB, low bit depths are expanded,
    /// 16-bit samples are scaled to 8 bits, and alpha is dropped (not composited).
    public static func read(_ url: URL) throws -> Image8 {
        var w: UInt32 = 0, h: UInt32 = 0
        var ch: Int32 = 0
        var data: UnsafeMutablePointer<UInt8>?
        var err = [CChar](repeating: 0, count: 512)
        let rc = cpng_read(url.path, UInt64(ImageLimits.maxPixels), &w, &h, &ch, &data, &err, err.count)
        if rc == 6 { throw ImageLimits.tooLarge(url, width: Int(w), height: Int(h)) }
        guard rc == 0, let data else {
            throw ToolkitError(.invalidFile, subject: url.path, String(cString: err))
        }
        defer { cpng_free(data) }
        let count = Int(w) * Int(h) * Int(ch)
        return try Image8(width: Int(w), height: Int(h), channels: Int(ch),
                          pixels: Array(UnsafeBufferPointer(start: data, count: count)))
    }

    /// Writes `image` as an 8-bit grey or RGB PNG. The file appears complete or not at all: the data
    /// goes to a temporary file in the same folder, which is then renamed into place.
    public static func write(_ image: Image8, to url: URL) throws {
        try AtomicFile.replace(url) { tmp in
            var err = [CChar](repeating: 0, count: 512)
            let rc = image.pixels.withUnsafeBufferPointer { buf in
                cpng_write(tmp.path, UInt32(image.width), UInt32(image.height), Int32(image.channels),
                           buf.baseAddress, &err, err.count)
            }
            if rc != 0 { throw ToolkitError(.writeFailed, subject: url.path, "cannot write PNG: \(String(cString: err))") }
        }
    }
}
