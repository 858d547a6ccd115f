import Foundation

/// A small synthetic abdominal-CT-like phantom for demos on machines without real data: an elliptic body of
/// soft tissue (40 HU) in air, a spine (700 HU) and an "organ" (label 5, the liver's id in TotalSegmentator's
/// numbering) of 60 HU whose cross-section drifts and changes size from slice to slice, with seeded noise. Not
/// anatomy: it exercises the pipeline and shows what a method does when the real CT is absent.
public enum SyntheticPhantom {
    /// The phantom's label id for its organ.
    public static let organID: Int32 = 5

    /// A (width x height x slices) phantom with 1.5 mm voxels and its label map.
    public static func make(width w: Int = 128, height h: Int = 112, slices n: Int = 24, seed: UInt64 = 0) -> (Volume, LabelVolume) {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        func noise() -> Float {  // splitmix64 -> uniform in [-1, 1)
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Float(z >> 40) / Float(1 << 23) - 1
        }
        var data = [Float](repeating: -1000, count: w * h * n), labels = [Int32](repeating: 0, count: w * h * n)
        for k in 0..<n {
            let t = Float(k) / Float(max(n - 1, 1))
            // Display layout reverses both axes: the organ shows on the image's left, the spine at the bottom.
            let (ocx, ocy) = (Float(w) * (0.64 - 0.06 * t), Float(h) * (0.52 + 0.05 * t))
            let (orx, ory) = (Float(w) * (0.16 + 0.06 * sinf(3.1 * t)), Float(h) * (0.18 + 0.04 * t))
            for j in 0..<h { for i in 0..<w {
                let (x, y) = (Float(i) + 0.5, Float(j) + 0.5)
                let body = powf((x - Float(w) / 2) / (Float(w) * 0.45), 2) + powf((y - Float(h) / 2) / (Float(h) * 0.40), 2) <= 1
                let spine = powf(x - Float(w) / 2, 2) + powf(y - Float(h) * 0.28, 2) <= powf(Float(w) * 0.05, 2)
                let organ = powf((x - ocx) / orx, 2) + powf((y - ocy) / ory, 2) <= 1
                let v = k * w * h + j * w + i
                var hu: Float = body ? 40 : -1000
                if spine { hu = 700 } else if organ && body { hu = 60; labels[v] = organID }
                data[v] = hu + 12 * noise()
            } }
        }
        let s = 1.5
        let affine = [[s, 0, 0, 0], [0, s, 0, 0], [0, 0, s, 0], [0, 0, 0, 1]]
        return (Volume(dims: [w, h, n], spacing: [s, s, s], data: data, affine: affine, source: "synthetic phantom"),
                LabelVolume(dims: [w, h, n], spacing: [s, s, s], labels: labels, affine: affine, source: "synthetic phantom"))
    }
}
