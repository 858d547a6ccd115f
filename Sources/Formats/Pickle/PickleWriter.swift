import Foundation

/// Emits protocol-2 pickle opcodes, the subset `torch.save` uses for a state dict, so that
/// `torch.load(weights_only=True)` accepts the result.
struct PickleWriter {
    private(set) var bytes: [UInt8] = [0x80, 2] // PROTO 2

    mutating func global(_ module: String, _ name: String) {
        bytes.append(0x63) // GLOBAL
        bytes += Array("\(module)\n\(name)\n".utf8)
    }

    mutating func string(_ s: String) {
        let u = Array(s.utf8)
        bytes.append(0x58) // BINUNICODE
        append32(UInt32(u.count))
        bytes += u
    }

    mutating func int(_ v: Int) {
        if v >= 0 && v < 256 { bytes += [0x4b, UInt8(v)] }                       // BININT1
        else if v >= 0 && v < 65536 { bytes += [0x4d, UInt8(v & 0xff), UInt8(v >> 8)] } // BININT2
        else if v >= Int(Int32.min) && v <= Int(Int32.max) { bytes.append(0x4a); append32(UInt32(bitPattern: Int32(v))) } // BININT
        else { // LONG1, 8 bytes two's complement
            bytes += [0x8a, 8]
            withUnsafeBytes(of: Int64(v).littleEndian) { bytes += $0 }
        }
    }

    mutating func bool(_ b: Bool) { bytes.append(b ? 0x88 : 0x89) }
    mutating func mark() { bytes.append(0x28) }
    mutating func tuple() { bytes.append(0x74) }       // TUPLE (from MARK)
    mutating func emptyTuple() { bytes.append(0x29) }
    mutating func reduce() { bytes.append(0x52) }
    mutating func binpersid() { bytes.append(0x51) }
    mutating func setitems() { bytes.append(0x75) }
    mutating func stop() { bytes.append(0x2e) }

    /// A tuple of ints, as pickle writes short tuples.
    mutating func intTuple(_ xs: [Int]) {
        switch xs.count {
        case 0: emptyTuple()
        case 1...3: xs.forEach { int($0) }; bytes.append([0x85, 0x86, 0x87][xs.count - 1])
        default: mark(); xs.forEach { int($0) }; tuple()
        }
    }

    private mutating func append32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
}
