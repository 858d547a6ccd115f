import Foundation

/// What an evaluation run records (protocol.md "What a run must record"), written as `record.json`.
public struct EvaluationRecord: Codable {
    public struct MethodResult: Codable {
        /// 3-D Dice over all query slices of the volume.
        public var dice: Double
        /// Query slices predicted (every query of every chunk: none is dropped).
        public var querySlices: Int
        /// Seconds spent on the method's predictions for this organ (adaptation included).
        public var seconds: Double
        /// Seconds of each online adaptation (SSM-SAM methods only).
        public var adaptationSeconds: [Double]?
    }
    public struct OrganResult: Codable {
        /// The primary method's Dice (the first method of the run).
        public var dice: Double
        /// The zero-shot baselines' Dice by name (`sam_point`, `sam_box`, `sam_mask`).
        public var baselines: [String: Double]
        /// Every method's result by name.
        public var methods: [String: MethodResult]
        /// The chunks: slice ranges and support slices.
        public var chunks: [ChunkRecord]
        /// The model the primary method used, and its sha256.
        public var model: String?
        public var modelSHA256: String?
    }
    public struct ChunkRecord: Codable {
        public var slices: [Int]
        public var support: Int
    }

    public var toolkit: String
    public var date: String
    public var processor: String
    /// The arithmetic of the encoder's weight products ("fp32", "bf16"); absent in records before it was kept.
    public var precision: String?
    public var volume: String
    public var volumeSHA256: String
    public var labels: String
    public var labelMap: String
    public var preset: String
    public var setting: String
    public var supportSource: String
    public var chunks: Int
    public var steps: Int?
    /// Pixels with logits above this are inside (SAM's mask threshold).
    public var threshold: Double
    public var primaryMethod: String
    public var organs: [String: OrganResult]
    /// Mean of the primary method's Dice over the organs.
    public var meanDice: Double
    /// Mean Dice per method over the organs.
    public var meanDiceByMethod: [String: Double]
    public var wallSeconds: Double

    enum CodingKeys: String, CodingKey {
        case toolkit, date, processor, precision, volume, labels, preset, setting, chunks, steps, threshold, organs
        case volumeSHA256 = "volume_sha256", labelMap = "label_map", supportSource = "support_source"
        case primaryMethod = "primary_method", meanDice = "mean_dice", meanDiceByMethod = "mean_dice_by_method"
        case wallSeconds = "wall_seconds"
    }
}

extension EvaluationRecord.MethodResult {
    enum CodingKeys: String, CodingKey {
        case dice, seconds
        case querySlices = "query_slices", adaptationSeconds = "adaptation_seconds"
    }
}

extension EvaluationRecord.OrganResult {
    enum CodingKeys: String, CodingKey {
        case dice, baselines, methods, chunks, model
        case modelSHA256 = "model_sha256"
    }
}
