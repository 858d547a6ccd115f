import Diagnostics
import Foundation

/// Organ names to label ids for one dataset's convention. Organ names are lower-case with underscores
/// (`liver`, `spleen`, `left_kidney`, `right_kidney`); common spellings are accepted (see `normalise`).
public struct LabelMap: Sendable, Equatable {
    public let name: String
    /// Organ name -> label id.
    public let organs: [String: Int32]

    public init(name: String, organs: [String: Int32]) {
        self.name = name
        var m: [String: Int32] = [:]
        for (k, v) in organs { m[LabelMap.normalise(k)] = v }
        self.organs = m
    }

    /// Synapse / BTCV (ABD-30): 1 spleen, 2 right kidney, 3 left kidney, 6 liver.
    public static let synapse = LabelMap(name: "synapse", organs: ["spleen": 1, "right_kidney": 2, "left_kidney": 3, "liver": 6])
    /// CHAOS MRI T2-SPIR: 1 liver, 2 right kidney, 3 left kidney, 4 spleen.
    public static let chaos = LabelMap(name: "chaos", organs: ["liver": 1, "right_kidney": 2, "left_kidney": 3, "spleen": 4])
    /// TotalSegmentator v2: 1 spleen, 2 right kidney, 3 left kidney, 5 liver.
    public static let totalSegmentator = LabelMap(name: "totalseg", organs: ["spleen": 1, "right_kidney": 2, "left_kidney": 3, "liver": 5])

    /// The AAL brain atlas (the values of `aal.nii.gz` in Debian's mricron-data, from its `aal.nii.txt`): the deep grey
    /// structures and the hippocampi, left and right.
    public static let aal = LabelMap(name: "aal", organs: ["hippocampus_l": 37, "hippocampus_r": 38, "caudate_l": 71, "caudate_r": 72,
                                                           "putamen_l": 73, "putamen_r": 74, "thalamus_l": 77, "thalamus_r": 78])

    /// A preset by name (`synapse`/`btcv`, `chaos`, `totalseg`/`totalsegmentator`, `totalseg-all`, `aal`), or a custom map
    /// written `name=id,name=id` (e.g. `liver=6,spleen=1`).
    public static func named(_ text: String) throws -> LabelMap {
        switch text.lowercased() {
        case "synapse", "btcv", "abd-30", "abd30": return .synapse
        case "chaos", "chaos-t2": return .chaos
        case "totalseg", "totalsegmentator", "totalseg-v2": return .totalSegmentator
        case "totalseg-all": return .totalSegmentatorAll
        case "aal": return .aal
        default: break
        }
        guard text.contains("=") else {
            throw ToolkitError(.invalidArgument, "unknown label-map preset '\(text)': expected synapse, chaos, totalseg, totalseg-all, aal or name=id,name=id")
        }
        var organs: [String: Int32] = [:]
        for pair in text.split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, !kv[0].isEmpty, let id = Int32(kv[1]) else {
                throw ToolkitError(.invalidArgument, "bad label-map entry '\(pair)': expected name=id")
            }
            organs[kv[0]] = id
        }
        return LabelMap(name: "custom", organs: organs)
    }

    /// The id of `organ`; throws `.unknownOrgan` listing the known names.
    public func id(of organ: String) throws -> Int32 {
        guard let id = organs[LabelMap.normalise(organ)] else {
            throw ToolkitError(.unknownOrgan, "unknown organ '\(organ)' for label map \(name): known organs are \(organs.keys.sorted().joined(separator: ", "))")
        }
        return id
    }

    /// Organ names sorted by id.
    public var organNames: [String] { organs.sorted { $0.value < $1.value }.map(\.key) }

    /// Lower-case, underscores, and `kidney_left`/`lkidney`/`left kidney` -> `left_kidney`.
    public static func normalise(_ name: String) -> String {
        let s = name.lowercased().replacingOccurrences(of: " ", with: "_").replacingOccurrences(of: "-", with: "_")
        switch s {
        case "lkidney", "kidney_left", "kidney_l", "l_kidney": return "left_kidney"
        case "rkidney", "kidney_right", "kidney_r", "r_kidney": return "right_kidney"
        default: return s
        }
    }
}
