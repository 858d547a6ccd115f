import FileIO
import Foundation
import XCTest

/// A writer killed without cleanup (SIGKILL) leaves `.NAME.tmp-PID-XXXXXXXX`; the next write of NAME removes it,
/// and nothing else: not a live process's temporary, not a file of another form.
final class StaleTemporaryTests: XCTestCase {
    func testTheNextWriteSweepsADeadWritersTemporaryOnly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stale-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // A process that has exited: its pid names no process any more.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        let dead = ".x.bin.tmp-\(p.processIdentifier)-ABCDEF12"
        let alive = ".x.bin.tmp-\(ProcessInfo.processInfo.processIdentifier)-0123ABCD"
        let kept = [alive, ".x.bin.tmp-notes", ".y.bin.tmp-\(p.processIdentifier)-ABCDEF12", "x.bin.bak"]
        for name in [dead] + kept { try Data("old".utf8).write(to: dir.appendingPathComponent(name)) }
        try AtomicFile.write(Data("new".utf8), to: dir.appendingPathComponent("x.bin"))
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        XCTAssertEqual(names, Set(kept + ["x.bin"]))
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("x.bin")), Data("new".utf8))
    }
}
