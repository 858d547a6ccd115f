import TensorCore

/// SAM's `postprocess_masks`: low-res logits to the original image's size.
public enum SAMPostprocessing {
    /// Bilinear (align_corners false) to modelSize x modelSize, crop to the resized input (h, w),
    /// bilinear to the original (h, w). Logits stay logits; threshold at 0 for a binary mask.
    public static func masks(_ lowRes: Tensor, modelSize: Int, inputSize: (Int, Int), originalSize: (Int, Int)) -> Tensor {
        let up = lowRes.resizeBilinear(height: modelSize, width: modelSize)
        let cropped = up.narrow(axis: 2, start: 0, length: inputSize.0).narrow(axis: 3, start: 0, length: inputSize.1)
        return cropped.resizeBilinear(height: originalSize.0, width: originalSize.1)
    }

    /// The mask SAM's predictor would pick: the highest predicted IoU of a (1, K) tensor.
    public static func bestMaskIndex(_ iou: Tensor) -> Int {
        precondition(iou.count > 0, "bestMaskIndex: no IoU predictions")
        return (0..<iou.count).max { iou.data[$0] < iou.data[$1] }!
    }
}
