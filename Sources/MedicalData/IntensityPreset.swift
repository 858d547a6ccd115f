import Diagnostics
import Imaging

/// How intensities become 8-bit grey values in [0, 255] (the protocol's input to SAM).
public enum IntensityPreset: Sendable, Equatable {
    /// Clip to [lower, upper] (CT: Hounsfield units) then scale linearly.
    case window(lower: Float, upper: Float)
    /// Clip at the given percentile of the volume (MRI), scale [volume minimum, percentile] linearly.
    case percentile(Float)

    /// The few-shot literature's abdominal CT window, [-125, 275] HU.
    public static let ct = IntensityPreset.window(lower: -125, upper: 275)
    /// The MRI preset: clip at the 99.5th percentile.
    public static let mri = IntensityPreset.percentile(99.5)

    /// Parses "ct", "mri", "window:LO:HI" or "percentile:P".
    public init(parsing text: String) throws {
        let parts = text.lowercased().split(separator: ":").map(String.init)
        let bad = ToolkitError(.invalidArgument, "unknown intensity preset '\(text)': expected ct, mri, window:LO:HI or percentile:P")
        if parts == ["ct"] {
            self = .ct
        } else if parts == ["mri"] {
            self = .mri
        } else if parts.count == 3, parts[0] == "window", let lo = Float(parts[1]), let hi = Float(parts[2]), lo < hi {
            self = .window(lower: lo, upper: hi)
        } else if parts.count == 2, parts[0] == "percentile", let p = Float(parts[1]), p > 0, p <= 100 {
            self = .percentile(p)
        } else {
            throw bad
        }
    }

    /// The [low, high] range mapped to [0, 255] for `volume`.
    public func range(for volume: Volume) -> (low: Float, high: Float) {
        switch self {
        case let .window(lower, upper): return (lower, upper)
        case let .percentile(p):
            let lo = volume.intensityRange.min
            let hi = Self.percentile(volume.data, p)
            return (lo, hi > lo ? hi : lo + 1)
        }
    }

    /// `values` mapped to [0, 255] (rounded, clipped) with the range computed for `volume`.
    public func apply(_ values: [Float], range: (low: Float, high: Float)) -> [UInt8] {
        let scale = 255 / (range.high - range.low)
        return values.map { v in UInt8(max(0, min(255, ((v - range.low) * scale).rounded()))) }
    }

    /// Percentile with linear interpolation between order statistics (numpy's default method).
    public static func percentile(_ values: [Float], _ p: Float) -> Float {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let pos = Double(p) / 100 * Double(sorted.count - 1)
        let lo = Int(pos.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
        let f = Float(pos - Double(lo))
        return sorted[lo] + (sorted[hi] - sorted[lo]) * f
    }
}
