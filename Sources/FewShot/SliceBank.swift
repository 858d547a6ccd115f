import Diagnostics
import MedicalData
import SAM
import SSMSAM
import TensorCore

/// The model inputs of a volume's slices, computed once per slice and shared by every method run on the same
/// chunks: the grey slice in display layout as RGB, SAM's preprocessed input, and (cheap path) the frozen
/// encoder features, from which SAM's image embedding is also taken when the base is the same.
public final class SliceBank {
    /// One slice of one volume: the volume's source path and the slice index.
    public struct Key: Hashable { public let source: String, index: Int }

    public let preprocessing: SAMPreprocessing
    public let preset: IntensityPreset
    /// The SSM-SAM model whose frozen features are cached (nil: SAM only).
    public let ssm: SSMSAMModel?
    private var inputs: [Key: (input: Tensor, resized: (height: Int, width: Int))] = [:]
    private var frozen: [Key: [Tensor]] = [:]
    private var ranges: [String: (low: Float, high: Float)] = [:]
    /// Encoder passes run so far (slices whose features were not already here).
    public private(set) var encoderPasses = 0

    public init(imageSize: Int, preset: IntensityPreset, ssm: SSMSAMModel? = nil) {
        preprocessing = SAMPreprocessing(modelSize: imageSize)
        (self.preset, self.ssm) = (preset, ssm)
    }

    /// The slice as 8-bit grey in display layout (`SliceRenderer.display`), with the preset's intensity range
    /// over the whole volume.
    public func grey(_ slice: Slice2D, of volume: Volume) -> [UInt8] {
        let range = ranges[volume.source] ?? preset.range(for: volume)
        ranges[volume.source] = range
        return SliceRenderer.display(preset.apply(slice.values, range: range), width: slice.width, height: slice.height)
    }

    /// SAM's preprocessed input (1, 3, S, S) of a slice and its resized size.
    public func input(_ slice: Slice2D, of volume: Volume) throws -> (input: Tensor, resized: (height: Int, width: Int)) {
        let key = Key(source: volume.source, index: slice.index)
        if let hit = inputs[key] { return hit }
        let grey = grey(slice, of: volume)
        let made = try preprocessing.modelInput(rgb: grey.flatMap { [$0, $0, $0] }, width: slice.width, height: slice.height)
        inputs[key] = made
        return made
    }

    /// The SSM-SAM model's frozen features of a slice (cheap path only).
    public func frozenFeatures(_ slice: Slice2D, of volume: Volume) throws -> [Tensor] {
        guard let ssm, ssm.adapter == nil else {
            throw ToolkitError(.invalidArgument, subject: "SliceBank", "frozen features need an SSM-SAM model without adapters")
        }
        let key = Key(source: volume.source, index: slice.index)
        if let hit = frozen[key] { return hit }
        let f = ssm.frozenFeatures(try input(slice, of: volume).input)
        encoderPasses += 1
        frozen[key] = f
        return f
    }
}
