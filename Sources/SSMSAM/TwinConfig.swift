import Diagnostics
import Foundation
import SAM

/// The PyTorch twin's config (scripts/ssmsam_twin/config.py: flat JSON, snake_case keys), to and from
/// `SSMSAMConfig`. The twin derives the base from its encoder module, so the base comes from the caller.
extension SSMSAMConfig {
    /// The twin's keys and values for this config.
    public var twinDictionary: [String: Any] {
        [
            "backbone": base.kind == .vit ? "vit" : "tinyvit", "image_size": base.encoder.imageSize, "channels": channels,
            "adapters": adapters, "adapter_hidden": adapterWidth, "fmad": fmad, "fmad_blocks": fmadBlocks, "fmad_keys": fmadKeys.rawValue,
            "fmad_ffn_dim": 2 * channels, "mid": headWidth, "tau": Double(temperature), "sigma": Double(maskSigma),
            "queries": globalQueries, "sampler_layers": samplerLayers, "sampler_heads": samplerHeads,
            "sampler_mlp_dim": samplerMLP, "sampler_cross_downsample": 2,
            "positive_points": positivePoints, "negative_points": negativePoints,
        ]
    }

    /// A config from the twin's JSON object on `base`; throws naming the field when the twin's config asks for
    /// something this model does not build (another backbone, widths that are fixed here).
    public init(twin json: [String: Any], base: SAMConfig) throws {
        self.init(base: base)
        func value<T>(_ key: String, _ type: T.Type) throws -> T {
            guard let v = json[key] as? T else {
                throw ToolkitError(.invalidFile, subject: "twin config", "field \(key) missing or not a \(T.self)")
            }
            return v
        }
        func number(_ key: String) throws -> Double {
            guard let v = json[key] as? NSNumber else {
                throw ToolkitError(.invalidFile, subject: "twin config", "field \(key) missing or not a number")
            }
            return v.doubleValue
        }
        let backbone = try value("backbone", String.self)
        guard backbone == (base.kind == .vit ? "vit" : "tinyvit") else {
            throw ToolkitError(.mismatch, subject: "twin config", "backbone \(backbone) on a \(base.kind) base")
        }
        adapters = try value("adapters", Bool.self)
        fmad = try value("fmad", Bool.self)
        fmadBlocks = Int(try number("fmad_blocks"))
        if let keys = json["fmad_keys"] {
            guard let name = keys as? String, let k = FMADKeys(rawValue: name) else {
                throw ToolkitError(.invalidFile, subject: "twin config", "field fmad_keys is \(keys); expected one of \(FMADKeys.allCases.map(\.rawValue))")
            }
            fmadKeys = k
        } else {
            fmadKeys = .unrecorded
        }
        headWidth = Int(try number("mid"))
        temperature = Float(try number("tau"))
        maskSigma = Float(try number("sigma"))
        globalQueries = Int(try number("queries"))
        samplerLayers = Int(try number("sampler_layers"))
        samplerHeads = Int(try number("sampler_heads"))
        samplerMLP = Int(try number("sampler_mlp_dim"))
        positivePoints = Int(try number("positive_points"))
        negativePoints = Int(try number("negative_points"))
        for (key, expected) in [("image_size", base.encoder.imageSize), ("channels", channels), ("fmad_ffn_dim", 2 * channels),
                                ("sampler_cross_downsample", 2)] + (adapters ? [("adapter_hidden", adapterWidth)] : []) {
            let v = Int(try number(key))
            guard v == expected else {
                throw ToolkitError(.mismatch, subject: "twin config", "\(key) is \(v); this model has \(expected)")
            }
        }
    }
}
