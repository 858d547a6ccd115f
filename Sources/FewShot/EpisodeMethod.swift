import MedicalData

/// A way to segment an episode's query slices from its support alone (slice and mask): SSM-SAM adapted
/// online, or SAM zero-shot. The query labels are not reachable from here: `Episode` holds query images only.
public protocol EpisodeMethod: AnyObject {
    /// The predictions it makes per episode, by name (one method can make several from shared work, e.g. the
    /// three zero-shot prompts on one image embedding).
    var names: [String] { get }
    /// Per name: query slice index -> binary mask (nx x ny, x fastest, 1 inside) on the volume's slice grid.
    func segment(_ episode: Episode, volume: Volume, supportVolume: Volume, bank: SliceBank) throws -> [String: [Int: [UInt8]]]
}
