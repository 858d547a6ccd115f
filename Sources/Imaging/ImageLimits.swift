import Diagnostics
import Foundation

/// The largest image the toolkit decodes, checked from the file's header before any pixel is allocated, so a
/// small file cannot claim gigabytes: 100 megapixels by default (a 10000 x 10000 image, 300 MB as RGB);
/// `SSMSAM_MAX_PIXELS` sets another limit.
public enum ImageLimits {
    public static let defaultMaxPixels = 100_000_000

    /// `SSMSAM_MAX_PIXELS` when it is a positive integer, else the default.
    public static var maxPixels: Int {
        if let v = ProcessInfo.processInfo.environment["SSMSAM_MAX_PIXELS"], let n = Int(v), n > 0 { return n }
        return defaultMaxPixels
    }

    static func tooLarge(_ url: URL, width: Int, height: Int) -> ToolkitError {
        ToolkitError(.unsupported, subject: url.path, String(format: "image is %d x %d pixels (%.1f megapixels), above the limit of %.1f megapixels; set SSMSAM_MAX_PIXELS to allow it",
                                                              width, height, Double(width * height) / 1e6, Double(maxPixels) / 1e6))
    }
}
