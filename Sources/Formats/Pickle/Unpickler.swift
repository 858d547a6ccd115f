import Diagnostics
import Foundation

/// A restricted unpickler for the pickles `torch.save` writes (protocols 2 to 5).
///
/// It interprets opcodes into `PickleValue`s and never executes anything: globals are checked against
/// `PickleGlobals`' allow-list and "called" by fixed rules; persistent ids become storage references.
/// Opcodes outside the supported set (INST, OBJ, EXT*, out-of-band buffers, the text-mode protocol 0
/// forms) are refused by name.
struct Unpickler {
    /// Most memo entries and stack items (each is at least one opcode byte, so a pickle of N bytes
    /// cannot legitimately need more than N; this bounds memory on hostile input).
    static let maxStack = 10_000_000

    let file: String
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    /// Every list, dict and object created, so a failed load can be taken apart iteratively.
    private var boxes: [AnyObject] = []
    private var boxIDs = Set<ObjectIdentifier>()
    /// Steps left for nesting checks over the whole load (bounds hostile inputs to linear-ish time).
    private var stepsLeft = 0

    init(file: String) { self.file = file }

    /// Unpickles one pickle from `bytes` starting at `start`; returns the value and the offset after STOP.
    static func load(_ bytes: UnsafeRawBufferPointer, from start: Int = 0, file: String) throws -> (PickleValue, Int) {
        var u = Unpickler(file: file)
        u.stepsLeft = Self.baseSteps + 16 * bytes.count
        do {
            return try u.run(bytes, start)
        } catch {
            u.dismantle()
            throw error
        }
    }

    /// Unpickles `data` (one pickle).
    static func load(_ data: Data, file: String) throws -> PickleValue {
        try data.withUnsafeBytes { try load($0, file: file).0 }
    }

    // MARK: - machine

    private mutating func run(_ b: UnsafeRawBufferPointer, _ start: Int) throws -> (PickleValue, Int) {
        var p = start
        let n = b.count
        func need(_ k: Int) throws {
            guard k >= 0, k <= n - p else { throw ToolkitError(.invalidFile, subject: file, "pickle truncated at byte \(p): needs \(k) more bytes, \(n - p) left") }
        }
        func u8() throws -> Int { try need(1); defer { p += 1 }; return Int(b[p]) }
        func u16() throws -> Int { try need(2); defer { p += 2 }; return Int(UInt16(littleEndian: b.loadUnaligned(fromByteOffset: p, as: UInt16.self))) }
        func u32() throws -> Int { try need(4); defer { p += 4 }; return Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: p, as: UInt32.self))) }
        func i32() throws -> Int { try need(4); defer { p += 4 }; return Int(Int32(littleEndian: b.loadUnaligned(fromByteOffset: p, as: Int32.self))) }
        func u64() throws -> Int {
            try need(8)
            let v = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: p, as: UInt64.self))
            p += 8
            guard v <= UInt64(Int.max) else { throw ToolkitError(.invalidFile, subject: file, "pickle length \(v) at byte \(p - 8) is too large") }
            return Int(v)
        }
        func raw(_ k: Int) throws -> UnsafeRawBufferPointer {
            try need(k); defer { p += k }; return UnsafeRawBufferPointer(rebasing: b[p ..< p + k])
        }
        func utf8(_ k: Int) throws -> String {
            let r = try raw(k)
            guard let s = String(validating: r.bindMemory(to: UInt8.self), as: UTF8.self) else {
                throw ToolkitError(.invalidFile, subject: file, "pickle string at byte \(p - k) is not valid UTF-8")
            }
            return s
        }
        func line() throws -> String {
            var e = p
            while e < n, b[e] != 0x0a { e += 1 }
            guard e < n else { throw ToolkitError(.invalidFile, subject: file, "pickle truncated: unterminated line at byte \(p)") }
            let s = String(decoding: UnsafeRawBufferPointer(rebasing: b[p ..< e]), as: UTF8.self)
            p = e + 1
            return s
        }

        while true {
            let at = p
            let op = try u8()
            switch op {
            case 0x80: // PROTO
                let v = try u8()
                guard v <= 5 else { throw ToolkitError(.unsupported, subject: file, "pickle protocol \(v) is not supported (2 to 5 are)") }
            case 0x95: _ = try u64() // FRAME: a length hint; frames are read through transparently.
            case 0x2e: // STOP
                guard let top = stack.popLast() else { throw ToolkitError(.invalidFile, subject: file, "pickle STOP with an empty stack") }
                try checkFinalDepth(top, at)
                return (top, p)
            case 0x28: marks.append(stack.count) // MARK
            case 0x30: _ = try pop(at) // POP
            case 0x31: _ = try popMark(at) // POP_MARK
            case 0x32: guard let t = stack.last else { throw underflow(at) }; try push(t) // DUP
            case 0x4e: try push(.none) // NONE
            case 0x88: try push(.bool(true)) // NEWTRUE
            case 0x89: try push(.bool(false)) // NEWFALSE
            case 0x4a: try push(.int(try i32())) // BININT
            case 0x4b: try push(.int(try u8())) // BININT1
            case 0x4d: try push(.int(try u16())) // BININT2
            case 0x8a: try push(try long(raw(try u8()))) // LONG1
            case 0x8b: // LONG4
                let k = try i32()
                guard k >= 0 else { throw ToolkitError(.invalidFile, subject: file, "pickle LONG4 with negative length at byte \(at)") }
                try push(try long(raw(k)))
            case 0x47: // BINFLOAT (big-endian double)
                try need(8)
                let bits = UInt64(bigEndian: b.loadUnaligned(fromByteOffset: p, as: UInt64.self))
                p += 8
                try push(.float(Double(bitPattern: bits)))
            case 0x58: try push(.string(try utf8(try u32()))) // BINUNICODE
            case 0x8c: try push(.string(try utf8(try u8()))) // SHORT_BINUNICODE
            case 0x8d: try push(.string(try utf8(try u64()))) // BINUNICODE8
            case 0x54: // BINSTRING (python 2 str; latin-1 as torch's loader assumes for ASCII data)
                let k = try i32()
                guard k >= 0 else { throw ToolkitError(.invalidFile, subject: file, "pickle BINSTRING with negative length at byte \(at)") }
                try push(.string(String(decoding: try raw(k), as: UTF8.self)))
            case 0x55: try push(.string(String(decoding: try raw(try u8()), as: UTF8.self))) // SHORT_BINSTRING
            case 0x42: try push(.bytes(Data(try raw(try u32())))) // BINBYTES
            case 0x43: try push(.bytes(Data(try raw(try u8())))) // SHORT_BINBYTES
            case 0x8e, 0x96: try push(.bytes(Data(try raw(try u64())))) // BINBYTES8, BYTEARRAY8
            case 0x29: try push(.tuple([])) // EMPTY_TUPLE
            case 0x74: try pushChecked(.tuple(try popMark(at)), at) // TUPLE
            case 0x85: let a = try pop(at); try pushChecked(.tuple([a]), at) // TUPLE1
            case 0x86: let b2 = try pop(at), a = try pop(at); try pushChecked(.tuple([a, b2]), at) // TUPLE2
            case 0x87: let c = try pop(at), b2 = try pop(at), a = try pop(at); try pushChecked(.tuple([a, b2, c]), at) // TUPLE3
            case 0x5d: try push(.list(PickleList())) // EMPTY_LIST
            case 0x6c: try pushChecked(.list(PickleList(try popMark(at))), at) // LIST
            case 0x61: // APPEND
                let v = try pop(at)
                guard case .list(let l)? = stack.last else { throw typeError(at, "APPEND", "list") }
                try checkNesting([v], into: l, at)
                l.items.append(v)
            case 0x65: // APPENDS
                let vs = try popMark(at)
                switch stack.last {
                case .list(let l)?: try checkNesting(vs, into: l, at); l.items.append(contentsOf: vs)
                default: throw typeError(at, "APPENDS", "list")
                }
            case 0x7d: try push(.dict(PickleDict())) // EMPTY_DICT
            case 0x64: // DICT
                let vs = try popMark(at)
                let d = PickleDict()
                try setItems(d, vs, at)
                try pushChecked(.dict(d), at)
            case 0x73: // SETITEM
                let v = try pop(at), k = try pop(at)
                guard case .dict(let d)? = stack.last else { throw typeError(at, "SETITEM", "dict") }
                try checkNesting([k, v], into: d, at)
                d.set(k, v)
            case 0x75: // SETITEMS
                let vs = try popMark(at)
                guard case .dict(let d)? = stack.last else { throw typeError(at, "SETITEMS", "dict") }
                try checkNesting(vs, into: d, at)
                try setItems(d, vs, at)
            case 0x8f: try push(.list(PickleList())) // EMPTY_SET (a set is kept as a list)
            case 0x90: // ADDITEMS
                let vs = try popMark(at)
                guard case .list(let l)? = stack.last else { throw typeError(at, "ADDITEMS", "set") }
                try checkNesting(vs, into: l, at)
                l.items.append(contentsOf: vs)
            case 0x91: try pushChecked(.list(PickleList(try popMark(at))), at) // FROZENSET
            case 0x63: // GLOBAL
                let module = try line(), name = try line()
                try push(.global(try PickleGlobals.resolve(module: module, name: name, file: file)))
            case 0x93: // STACK_GLOBAL
                let nameV = try pop(at), moduleV = try pop(at)
                guard case .string(let name) = nameV, case .string(let module) = moduleV else {
                    throw ToolkitError(.invalidFile, subject: file, "pickle STACK_GLOBAL at byte \(at) needs two strings")
                }
                try push(.global(try PickleGlobals.resolve(module: module, name: name, file: file)))
            case 0x52, 0x81: // REDUCE, NEWOBJ
                let args = try pop(at), callee = try pop(at)
                guard case .global(let g) = callee else {
                    throw ToolkitError(.invalidFile, subject: file, "pickle \(op == 0x52 ? "REDUCE" : "NEWOBJ") at byte \(at) calls \(callee.kindWithArticle), not an allowed global")
                }
                guard let a = args.sequence else { throw ToolkitError(.invalidFile, subject: file, "pickle call of \(g.module).\(g.name) with \(args.kindWithArticle) of arguments") }
                try push(try PickleGlobals.call(g, a, file: file))
            case 0x92: // NEWOBJ_EX
                _ = try pop(at) // kwargs
                let args = try pop(at), callee = try pop(at)
                guard case .global(let g) = callee, let a = args.sequence else {
                    throw ToolkitError(.invalidFile, subject: file, "pickle NEWOBJ_EX at byte \(at) calls \(callee.kindWithArticle)")
                }
                try push(try PickleGlobals.call(g, a, file: file))
            case 0x62: // BUILD
                let state = try pop(at)
                guard let obj = stack.last else { throw underflow(at) }
                // Only opaque objects keep their state; a dict's state is attributes (OrderedDict's
                // `_metadata`), never items; a tensor's state (hooks, requires_grad) is irrelevant here.
                if case .object(let o) = obj { try checkNesting([state], into: o, at); o.state = state }
            case 0x51: // BINPERSID
                let pid = try pop(at)
                try push(try PickleGlobals.persistentLoad(pid, file: file))
            case 0x71: try memoize(try u8(), at) // BINPUT
            case 0x72: try memoize(try u32(), at) // LONG_BINPUT
            case 0x94: try memoize(memo.count, at) // MEMOIZE
            case 0x68: try push(try fetch(try u8(), at)) // BINGET
            case 0x6a: try push(try fetch(try u32(), at)) // LONG_BINGET
            default:
                throw ToolkitError(.unsupported, subject: file, "pickle opcode \(Self.opcodeName(UInt8(op))) at byte \(at) is not supported (refused)")
            }
        }
    }

    private mutating func push(_ v: PickleValue) throws {
        guard stack.count < Self.maxStack else { throw ToolkitError(.invalidFile, subject: file, "pickle stack exceeds \(Self.maxStack) items") }
        let box: AnyObject?
        switch v {
        case .list(let l): box = l
        case .dict(let d): box = d
        case .object(let o): box = o
        default: box = nil
        }
        if let box, boxIDs.insert(ObjectIdentifier(box)).inserted { boxes.append(box) }
        stack.append(v)
    }

    /// Empties every container created, so that releasing them never recurses deeply (boxes can be
    /// chained after their nesting was checked) and nothing is kept alive by a half-built graph.
    private mutating func dismantle() {
        for b in boxes {
            if let l = b as? PickleList { l.items = [] }
            else if let d = b as? PickleDict { d.removeAll() }
            else if let o = b as? PickleObject { o.state = .none; o.args = [] }
        }
        stack = []
        memo = [:]
        boxes = []
    }

    private mutating func pushChecked(_ v: PickleValue, _ at: Int) throws {
        try checkNesting([v], into: nil, at)
        try push(v)
    }

    private mutating func pop(_ at: Int) throws -> PickleValue {
        if let m = marks.last, stack.count <= m { throw ToolkitError(.invalidFile, subject: file, "pickle pops past a MARK at byte \(at)") }
        guard let v = stack.popLast() else { throw underflow(at) }
        return v
    }

    private mutating func popMark(_ at: Int) throws -> [PickleValue] {
        guard let m = marks.popLast(), m <= stack.count else { throw ToolkitError(.invalidFile, subject: file, "pickle needs a MARK at byte \(at), none is open") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private func setItems(_ d: PickleDict, _ vs: [PickleValue], _ at: Int) throws {
        guard vs.count % 2 == 0 else { throw ToolkitError(.invalidFile, subject: file, "pickle SETITEMS at byte \(at) with an odd number of items") }
        for i in stride(from: 0, to: vs.count, by: 2) { d.set(vs[i], vs[i + 1]) }
    }

    private mutating func memoize(_ i: Int, _ at: Int) throws {
        guard let v = stack.last else { throw underflow(at) }
        guard memo.count < Self.maxStack else { throw ToolkitError(.invalidFile, subject: file, "pickle memo exceeds \(Self.maxStack) entries") }
        memo[i] = v
    }

    private func fetch(_ i: Int, _ at: Int) throws -> PickleValue {
        guard let v = memo[i] else { throw ToolkitError(.invalidFile, subject: file, "pickle reads memo entry \(i) at byte \(at), which was never stored") }
        return v
    }

    private func long(_ r: UnsafeRawBufferPointer) throws -> PickleValue {
        if r.isEmpty { return .int(0) }
        if r.count <= 8 {
            var v: UInt64 = 0
            for (i, byte) in r.enumerated() { v |= UInt64(byte) << (8 * UInt64(i)) }
            if r.count < 8, r[r.count - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(r.count)) } // sign-extend
            return .int(Int(Int64(bitPattern: v)))
        }
        return .bigInt(Array(r))
    }

    /// Most levels of nesting a value may have (a state dict needs fewer than 10).
    static let maxDepth = 200
    /// Nesting-check steps allowed per load, plus 16 per pickle byte (real checkpoints use about one
    /// step per value; shared sub-values are visited once per path, which hostile input can exploit).
    static let baseSteps = 10_000_000

    /// Containers are reference boxes, so a pickle that puts a container inside itself would build a
    /// reference cycle (leaked memory, endless walks), and very deep nesting would overflow the stack
    /// when values are released. No checkpoint needs either: refuse both.
    private mutating func checkNesting(_ values: [PickleValue], into target: AnyObject?, _ at: Int) throws {
        var seen = Set<ObjectIdentifier>()
        var steps = stepsLeft
        defer { stepsLeft = steps }
        func walk(_ v: PickleValue, _ depth: Int) throws -> Bool {
            steps -= 1
            guard depth < Self.maxDepth, steps > 0 else {
                throw ToolkitError(.invalidFile, subject: file, "pickle value at byte \(at) is nested deeper than \(Self.maxDepth) levels or too complex (refused)")
            }
            let box: AnyObject
            switch v {
            case .list(let l): box = l
            case .dict(let d): box = d
            case .object(let o): box = o
            case .tuple(let t): return try t.contains { try walk($0, depth + 1) }
            default: return false
            }
            if let target, box === target { return true }
            guard seen.insert(ObjectIdentifier(box)).inserted else { return false }
            switch v {
            case .list(let l): return try l.items.contains { try walk($0, depth + 1) }
            case .dict(let d): return try d.keys.contains { try walk($0, depth + 1) } || d.values.contains { try walk($0, depth + 1) }
            case .object(let o): return try walk(o.state, depth + 1) || o.args.contains { try walk($0, depth + 1) }
            default: return false
            }
        }
        if try values.contains(where: { try walk($0, 1) }) {
            throw ToolkitError(.invalidFile, subject: file, "pickle puts a container inside itself at byte \(at) (reference cycles are refused)")
        }
    }

    /// Containers can be chained after each insertion was checked; measure the finished value once,
    /// iteratively (no recursion), before handing it out.
    private mutating func checkFinalDepth(_ root: PickleValue, _ at: Int) throws {
        var seen = Set<ObjectIdentifier>()
        var todo: [(PickleValue, Int)] = [(root, 1)]
        while let (v, depth) = todo.popLast() {
            stepsLeft -= 1
            guard depth < Self.maxDepth, stepsLeft > 0 else {
                throw ToolkitError(.invalidFile, subject: file, "pickle value at byte \(at) is nested deeper than \(Self.maxDepth) levels or too complex (refused)")
            }
            switch v {
            case .tuple(let t): t.forEach { todo.append(($0, depth + 1)) }
            case .list(let l): if seen.insert(ObjectIdentifier(l)).inserted { l.items.forEach { todo.append(($0, depth + 1)) } }
            case .dict(let d):
                if seen.insert(ObjectIdentifier(d)).inserted {
                    d.keys.forEach { todo.append(($0, depth + 1)) }
                    d.values.forEach { todo.append(($0, depth + 1)) }
                }
            case .object(let o):
                if seen.insert(ObjectIdentifier(o)).inserted {
                    todo.append((o.state, depth + 1))
                    o.args.forEach { todo.append(($0, depth + 1)) }
                }
            default: break
            }
        }
    }

    private func underflow(_ at: Int) -> ToolkitError { ToolkitError(.invalidFile, subject: file, "pickle stack underflow at byte \(at)") }

    private func typeError(_ at: Int, _ op: String, _ want: String) -> ToolkitError {
        ToolkitError(.invalidFile, subject: file, "pickle \(op) at byte \(at) applies to a \(stack.last?.kind ?? "empty stack"), expected a \(want)")
    }

    /// Names of opcodes this reader refuses, for error messages.
    static func opcodeName(_ op: UInt8) -> String {
        let names: [UInt8: String] = [
            0x69: "INST", 0x6f: "OBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x97: "NEXT_BUFFER",
            0x98: "READONLY_BUFFER", 0x49: "INT", 0x4c: "LONG", 0x53: "STRING", 0x56: "UNICODE", 0x46: "FLOAT",
            0x70: "PUT", 0x67: "GET", 0x50: "PERSID",
        ]
        return names[op].map { "\($0) (0x\(String(op, radix: 16)))" } ?? "0x\(String(op, radix: 16))"
    }
}
