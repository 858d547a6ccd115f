import Foundation
import XCTest
import TensorCore

/// `Initializer` against PyTorch's `torch.nn.init` (statistics written by
/// scripts/make_initializer_fixtures.py), and `SeededGenerator`'s determinism.
final class InitializerTests: XCTestCase {
    /// Our initialiser for each fixture case (the fixture's `call` says what torch ran), and whether it is
    /// uniform on its bounds (so that 1e6 draws must come close to both of them).
    private static let cases: [String: (Initializer, uniformOnBounds: Bool)] = [
        "zeros": (.zeros, false),
        "ones": (.ones, false),
        "constant": (.constant(0.25), false),
        "normal": (.normal(mean: 0.5, std: 2), false),
        "uniform": (.uniform(low: -3, high: 1), true),
        "trunc_normal_default": (.truncatedNormal(), false),
        "trunc_normal_std002": (.truncatedNormal(std: 0.02), false),
        "trunc_normal_offset": (.truncatedNormal(mean: 1, std: 0.5, a: 0, b: 3), false),
        "trunc_normal_narrow_tail": (.truncatedNormal(mean: 0, std: 1, a: 1, b: 1.5), false),
        "kaiming_normal_default": (.kaimingNormal(), false),
        "kaiming_normal_fan_out_relu": (.kaimingNormal(mode: .fanOut, nonlinearity: .relu), false),
        "kaiming_normal_leaky_0.2": (.kaimingNormal(nonlinearity: .leakyRelu(negativeSlope: 0.2)), false),
        "kaiming_normal_linear": (.kaimingNormal(nonlinearity: .linear), false),
        "kaiming_uniform_sqrt5": (.kaimingUniform(), true),
        "kaiming_uniform_fan_out": (.kaimingUniform(a: 0, mode: .fanOut), true),
        "xavier_uniform": (.xavierUniform(), true),
        "xavier_uniform_gain_tanh": (.xavierUniform(gain: 5.0 / 3), true),
        "linear_module_weight": (.kaimingUniform(), true),
        "conv_module_weight": (.kaimingUniform(), true),
        "conv_default_bias": (.defaultBias(weightShape: [256, 768, 3, 3]), true),
    ]

    private struct Stats: Decodable {
        let call: String
        let shape: [Int]
        let count: Int
        let fanIn: Int?
        let fanOut: Int?
        let mean, std, min, max: Double
        let kurtosis: Double?
        let withinOneStd: Double
        let low: Double?
        let high: Double?
        let weightShape: [Int]?
    }

    private struct StatsFile: Decodable {
        let torch: String
        let gains: [String: Double]
        let cases: [String: Stats]
    }

    private static func fixture() throws -> StatsFile {
        let data = try Data(contentsOf: Fixture.directory.appendingPathComponent("initializer_stats.json"))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(StatsFile.self, from: data)
    }

    /// Mean and population std, in Double.
    private static func moments(_ t: Tensor) -> (mean: Double, std: Double) {
        let n = Double(t.count)
        let mean = t.data.reduce(0.0) { $0 + Double($1) } / n
        let m2 = t.data.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        return (mean, m2.squareRoot())
    }

    func testStatisticsMatchTorch() throws {
        let file = try Self.fixture()
        XCTAssertEqual(Set(file.cases.keys), Set(Self.cases.keys), "fixture cases and the test's table differ")
        for (name, torch) in file.cases.sorted(by: { $0.key < $1.key }) {
            guard let (initializer, uniformOnBounds) = Self.cases[name] else { continue }
            XCTAssertEqual(torch.shape.reduce(1, *), torch.count, "\(name): fixture count")
            var rng = SeededGenerator(seed: 2024).generator(for: name)
            let t = initializer.make(shape: torch.shape, using: &rng)
            XCTAssertEqual(t.shape, torch.shape, name)
            let ours = Self.moments(t)
            let lo = Double(t.data.min() ?? .nan), hi = Double(t.data.max() ?? .nan)

            guard let kurtosis = torch.kurtosis, torch.std > 0 else {
                // zeros / ones / constant: every element is torch's single value.
                XCTAssert(torch.min == torch.max, "\(name): fixture is not constant")
                XCTAssert(lo == torch.min && hi == torch.max, "\(name): ours spans [\(lo), \(hi)], torch's is \(torch.min)")
                continue
            }
            // Tolerances from the standard errors, for n draws on each side (ours and torch's are
            // independent samples, so a difference of two estimates has sqrt(2) times one's standard error):
            //   mean:  SE = sigma / sqrt(n)
            //   std:   SE = sigma * sqrt((kurtosis - 1) / (4 n))   (delta method: Var(s^2) = (mu4 - sigma^4) / n)
            //   fraction p within torch's mean +- torch's std:  SE = sqrt(p (1 - p) / n)
            // and 5 standard errors each (a two-sided chance of about 6e-7 per check for a correct initialiser).
            let n = Double(torch.count), sigma = torch.std, k = 5 * 2.0.squareRoot()
            let meanTolerance = k * sigma / n.squareRoot()
            let stdTolerance = k * sigma * ((kurtosis - 1) / (4 * n)).squareRoot()
            let p = torch.withinOneStd
            let fractionTolerance = k * (p * (1 - p) / n).squareRoot()
            let fraction = Double(t.data.lazy.filter { abs(Double($0) - torch.mean) <= torch.std }.count) / n

            XCTAssert(abs(ours.mean - torch.mean) <= meanTolerance,
                      "\(name) (torch: \(torch.call)): mean \(ours.mean), torch \(torch.mean), tolerance \(meanTolerance)")
            XCTAssert(abs(ours.std - torch.std) <= stdTolerance,
                      "\(name) (torch: \(torch.call)): std \(ours.std), torch \(torch.std), tolerance \(stdTolerance)")
            XCTAssert(abs(fraction - p) <= fractionTolerance,
                      "\(name) (torch: \(torch.call)): within 1 std \(fraction), torch \(p), tolerance \(fractionTolerance)")
            if let low = torch.low, let high = torch.high {
                XCTAssert(lo >= low && hi <= high, "\(name): ours spans [\(lo), \(hi)], outside [\(low), \(high)]")
                if uniformOnBounds {
                    // 1e6 uniform draws leave a gap over 1e-4 of the range at an end with chance e^-100:
                    // this pins the bound itself, not just the std.
                    let slack = 1e-4 * (high - low)
                    XCTAssert(lo - low <= slack && high - hi <= slack,
                              "\(name): ours spans [\(lo), \(hi)], torch's bounds are [\(low), \(high)]")
                }
            }
        }
    }

    func testFansAndGainsMatchTorch() throws {
        let file = try Self.fixture()
        for (name, torch) in file.cases {
            guard let fanIn = torch.fanIn, let fanOut = torch.fanOut else { continue }
            let ours = Initializer.fans(torch.shape)
            XCTAssert(ours == (fanIn, fanOut), "\(name) \(torch.shape): fans \(ours), torch (\(fanIn), \(fanOut))")
        }
        XCTAssertEqual(file.cases["conv_default_bias"]?.weightShape, [256, 768, 3, 3])
        let gains: [(String, Initializer.Nonlinearity)] = [
            ("linear", .linear), ("relu", .relu), ("leaky_relu", .leakyRelu()),
            ("leaky_relu_0.2", .leakyRelu(negativeSlope: 0.2)),
            ("leaky_relu_sqrt5", .leakyRelu(negativeSlope: Float(5).squareRoot())),
        ]
        for (key, nonlinearity) in gains {
            guard let expected = file.gains[key] else { XCTFail("fixture has no gain \(key)"); continue }
            // slopes are Float here and Python floats in torch: 1e-7 relative covers that rounding.
            XCTAssertEqual(nonlinearity.gain, expected, accuracy: 1e-7 * expected, key)
        }
    }

    func testConvWeightFans() {
        // torch: fan_in = dim 1 * receptive field, fan_out = dim 0 * receptive field.
        XCTAssert(Initializer.fans([256, 768, 3, 3]) == (6912, 2304))
        XCTAssert(Initializer.fans([768, 3, 16, 16]) == (768, 196_608))  // SAM's patch embedding
        XCTAssert(Initializer.fans([3072, 768]) == (768, 3072))  // a Linear(768, 3072) weight
        XCTAssertEqual(Initializer.defaultBias(weightShape: [256, 768, 3, 3]), .defaultBias(fanIn: 6912))
        XCTAssertEqual(Initializer.kaimingUniform(), .kaimingUniform(a: Float(5).squareRoot(), mode: .fanIn))
    }

    func testSameSeedGivesTheSameTensorsBitForBit() {
        for (name, (initializer, _)) in Self.cases {
            var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42)
            let x = initializer.make(shape: [64, 32, 3, 3], using: &a)
            let y = initializer.make(shape: [64, 32, 3, 3], using: &b)
            XCTAssertEqual(x.data.map(\.bitPattern), y.data.map(\.bitPattern), name)
        }
    }

    /// Values pinned from a transcription of the algorithms (SplitMix64 seeding, xoshiro256**, FNV-1a,
    /// the polar method with this file's log) in Python floats, which are IEEE doubles like Swift's:
    /// a platform whose arithmetic or derivation differed would fail here.
    func testPinnedValues() {
        var g = SeededGenerator(seed: 0)
        XCTAssertEqual((0..<4).map { _ in g.next() },
                       [11_091_344_671_253_066_420, 13_793_997_310_169_335_082, 1_900_383_378_846_508_768, 7_684_712_102_626_143_532],
                       "xoshiro256** seeded by SplitMix64(0)")
        var child = SeededGenerator(seed: 0).generator(for: "image_encoder.pos_embed")
        XCTAssertEqual(child.seed, 8_193_166_460_152_376_538)
        XCTAssertEqual(child.next(), 2_481_589_375_693_534_094)
        var indexed = SeededGenerator(seed: 0).generator(index: 3)
        XCTAssertEqual(indexed.next(), 17_167_110_620_063_404_269)
        var n = SeededGenerator(seed: 2024)
        XCTAssertEqual(n.normal([4], mean: 0.5, std: 2).data.map(\.bitPattern), [0x4004_D5AA, 0xBF78_09AE, 0xBF45_648F, 0xC01B_12EF])
        var u = SeededGenerator(seed: 2024)
        XCTAssertEqual(u.uniform([4], low: -3, high: 1).data.map(\.bitPattern), [0xC031_B78F, 0x3E03_7F30, 0xC02D_8DCF, 0xC017_1CDD])
    }

    func testChildStreamsDependOnSeedAndNameOnly() {
        var parent = SeededGenerator(seed: 7)
        var first = parent.generator(for: "blocks.0.attn.qkv.weight")
        let before = first.uniform([1000])
        for _ in 0..<10 { _ = parent.next() }  // the parent's own draws must not move its children
        var again = parent.generator(for: "blocks.0.attn.qkv.weight")
        XCTAssertEqual(again.uniform([1000]), before, "a child depends on the parent's seed and the name only")

        func draw(_ g: SeededGenerator) -> [Float] { var g = g; return g.uniform([1000]).data }
        let streams: [(String, [Float])] = [
            ("qkv.weight", draw(parent.generator(for: "blocks.0.attn.qkv.weight"))),
            ("qkv.bias", draw(parent.generator(for: "blocks.0.attn.qkv.bias"))),
            ("blocks.1", draw(parent.generator(for: "blocks.1.attn.qkv.weight"))),
            ("empty name", draw(parent.generator(for: ""))),
            ("index 0", draw(parent.generator(index: 0))),
            ("index 1", draw(parent.generator(index: 1))),
            ("other seed", draw(SeededGenerator(seed: 8).generator(for: "blocks.0.attn.qkv.weight"))),
            ("nested", draw(parent.generator(for: "blocks.0").generator(for: "attn.qkv.weight"))),
            ("parent", draw(parent)),
        ]
        for i in streams.indices {
            for j in streams.indices where j > i {
                // Equal first elements already mean a shared stream; count the matches to say how alike.
                let same = zip(streams[i].1, streams[j].1).filter { $0 == $1 }.count
                XCTAssert(same < 10, "streams \(streams[i].0) and \(streams[j].0) share \(same) of 1000 values")
            }
        }
    }

    func testCodableRoundTripAndEdgeCases() throws {
        for (name, (initializer, _)) in Self.cases {
            let data = try JSONEncoder().encode(initializer)
            XCTAssertEqual(try JSONDecoder().decode(Initializer.self, from: data), initializer, name)
        }
        XCTAssertNotEqual(Initializer.kaimingNormal(nonlinearity: .relu), .kaimingNormal(nonlinearity: .linear))
        var rng = SeededGenerator(seed: 1)
        XCTAssertEqual(Initializer.kaimingUniform().make(shape: [0, 16], using: &rng).shape, [0, 16],
                       "a zero-element tensor is left empty, as torch does")
        XCTAssertEqual(Initializer.defaultBias(fanIn: 0).make(shape: [4], using: &rng), .zeros([4]),
                       "torch's bound is 0 when fan_in is 0")
        let odd = Initializer.normal().make(shape: [5], using: &rng)
        XCTAssert(odd.data.allSatisfy(\.isFinite) && Set(odd.data).count == 5, "an odd count of normals: \(odd)")
    }
}
