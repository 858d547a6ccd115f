import Diagnostics
import Imaging

/// Rendering axial slices as 8-bit images in the radiological convention: the patient's right on the
/// image's left and anterior at the top. With canonical RAS+ data that is image column `nx-1-i` and
/// row `ny-1-j` for voxel (i, j).
public enum SliceRenderer {
    /// How a mask is drawn.
    public enum Style: Sendable { case tint(alpha: Float), contour(thickness: Int) }

    /// A mask to draw over the slice (canonical nx x ny, x fastest) with a colour and a style.
    public struct Overlay: Sendable {
        public let mask: [UInt8]
        public let colour: RGB
        public let style: Style
        public init(mask: [UInt8], colour: RGB, style: Style) {
            self.mask = mask
            self.colour = colour
            self.style = style
        }
    }

    /// The grey image of slice `k` with `preset`'s intensity mapping (range computed on the whole volume).
    public static func grey(_ volume: Volume, slice k: Int, preset: IntensityPreset) throws -> Image8 {
        let s = try volume.slice(k)
        let bytes = preset.apply(s.values, range: preset.range(for: volume))
        return try Image8(width: s.width, height: s.height, channels: 1, pixels: display(bytes, width: s.width, height: s.height))
    }

    /// Slice `k` with overlays drawn in order (tints first is usually clearest, then contours).
    public static func render(_ volume: Volume, slice k: Int, preset: IntensityPreset,
                              overlays: [Overlay]) throws -> Image8 {
        var image = try grey(volume, slice: k, preset: preset)
        let (w, h) = (volume.dims[0], volume.dims[1])
        for o in overlays {
            guard o.mask.count == w * h else {
                throw ToolkitError(.invalidArgument, "overlay mask has \(o.mask.count) pixels, slice \(w)x\(h) = \(w * h)")
            }
            let m = display(o.mask, width: w, height: h)
            switch o.style {
            case let .tint(alpha): image = try image.tinted(mask: m, colour: o.colour, alpha: alpha)
            case let .contour(t): image = try image.contoured(mask: m, colour: o.colour, thickness: t)
            }
        }
        return image.rgb()
    }

    /// Canonical slice layout (x fastest, y up the rows) to display layout (both axes reversed).
    public static func display<T>(_ values: [T], width: Int, height: Int) -> [T] {
        var out = values
        for j in 0..<height {
            for i in 0..<width {
                out[(height - 1 - j) * width + (width - 1 - i)] = values[j * width + i]
            }
        }
        return out
    }
}
