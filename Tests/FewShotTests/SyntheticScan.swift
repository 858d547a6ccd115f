import FewShot
import MedicalData
import SSMSAM

/// A small synthetic CT (32 x 32 x 14, HU-like intensities) with the four protocol organs as elliptic
/// cylinders over different slice ranges, labelled with the TotalSegmentator map.
enum SyntheticScan {
    /// Organ -> (label id, centre x, centre y, radius, first slice, last slice, HU).
    static let organs: [String: (id: Int32, cx: Double, cy: Double, r: Double, slices: ClosedRange<Int>, hu: Float)] = [
        "spleen": (1, 8, 21, 5, 2...10, 110),
        "right_kidney": (2, 23, 9, 4, 4...13, 170),
        "left_kidney": (3, 9, 8, 4, 3...9, 150),
        "liver": (5, 22, 22, 6, 0...13, 60),
    ]
    static let dims = [32, 32, 14]

    static func make() -> (image: Volume, labels: LabelVolume) {
        let (nx, ny, nz) = (dims[0], dims[1], dims[2])
        var data = [Float](repeating: 0, count: nx * ny * nz), labels = [Int32](repeating: 0, count: nx * ny * nz)
        for k in 0..<nz { for j in 0..<ny { for i in 0..<nx {
            let v = (k * ny + j) * nx + i
            data[v] = -60 + 40 * Float(i + 2 * j) / Float(nx + ny) + 15 * Float((i * 7 + j * 3 + k * 5) % 11) / 11
            for (_, o) in organs.sorted(by: { $0.value.id < $1.value.id }) where o.slices.contains(k) {
                // The ellipse drifts by a pixel every few slices and shrinks towards its ends.
                let grow = 1 - 0.04 * Double(abs(k - (o.slices.lowerBound + o.slices.upperBound) / 2))
                let (dx, dy) = ((Double(i) - o.cx - Double(k / 4)) / (o.r * grow), (Double(j) - o.cy) / (o.r * 0.8 * grow))
                if dx * dx + dy * dy < 1 { labels[v] = o.id; data[v] = o.hu + 10 * Float((i + k) % 3) }
            }
        } } }
        let affine: [[Double]] = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 2.5, 0], [0, 0, 0, 1]]
        return (Volume(dims: dims, spacing: [1, 1, 2.5], data: data, affine: affine, source: "synthetic.nii.gz"),
                LabelVolume(dims: dims, spacing: [1, 1, 2.5], labels: labels, affine: affine, source: "synthetic_labels.nii.gz"))
    }

    /// A source on one synthetic scan for the task with `testOrgan` held out (and `training` as its training
    /// organs, default the protocol's others).
    static func source(model: SSMSAMModel, testOrgan: String = "liver", setting: TrainingSetting = .setting1,
                       chunks: Int = 3, validationEvery: Int = 0, training: [String]? = nil) throws -> VolumeEpisodeSource {
        let task = try training.map { try OrganTask(testOrgan: testOrgan, training: $0, labelMap: .totalSegmentator) }
            ?? OrganTask(testOrgan: testOrgan)
        return try VolumeEpisodeSource(volumes: [make()], task: task, setting: setting,
                                labelMap: .totalSegmentator, preset: .ct, chunks: chunks, model: model,
                                cache: try FeatureCache(baseID: "mobilesam_small (tests)"), validationEvery: validationEvery)
    }
}
