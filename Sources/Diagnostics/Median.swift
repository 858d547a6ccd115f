/// The true median of timings or any sample: the middle value, or the mean of the two middle values for an
/// even count (the upper middle alone, `sorted[n / 2]`, reads high). Nil for an empty sample.
public func median(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted(), mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
