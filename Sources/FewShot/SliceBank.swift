import Diagnostics
import Imaging
import MedicalData
import SAM
import SSMSAM
import TensorCore

/// The model inputs of a volume's slices, shared by every method run on the same chunks: the grey slice in
/// display layout, SAM's preprocessed input (computed when asked: it is 12 MB a slice at 1024, and the cheap
/// path needs it once, for the features) and, computed once per slice and kept, the frozen encoder features,
/// from which SAM's image embedding is also taken when the base is the same.
public final class SliceBank {
    /// One slice of one volume: the volume's source path and the slice index.
    public struct Key: Hashable { public let source: String, index: Int }

    public let preprocessing: SAMPreprocessing
    public let preset: IntensityPreset
    /// The SSM-SAM model whose frozen features are cached (nil: SAM only).
    public let ssm: SSMSAMModel?
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

    /// The slice as an RGB image in display layout (`grey`), for panels.
    public func image(_ slice: Slice2D, of volume: Volume) throws -> Image8 {
        try Image8(width: slice.width, height: slice.height, channels: 1, pixels: grey(slice, of: volume)).rgb()
    }

    /// SAM's preprocessed input (1, 3, S, S) of a slice and its resized size.
    public func input(_ slice: Slice2D, of volume: Volume) throws -> (input: Tensor, resized: (height: Int, width: Int)) {
        try preprocessing.modelInput(rgb: grey(slice, of: volume).flatMap { [$0, $0, $0] }, width: slice.width, height: slice.height)
    }

    /// The slice's size once resized into the model's frame (what postprocessing and the point picker need).
    public func resized(_ slice: Slice2D) -> (height: Int, width: Int) {
        preprocessing.resizedSize(height: slice.height, width: slice.width)
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
