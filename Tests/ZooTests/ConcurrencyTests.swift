import Foundation
import TestSupport
import XCTest
import Zoo

/// Concurrent installs of the same package leave one consistent entry: two `ssmsam` processes, and two
/// threads with separate `Registry` instances (the flock is per open file, so they exclude each other too).
final class ConcurrencyTests: XCTestCase {
    private func binary() throws -> URL { try SSMSAMProcess.binary(near: Bundle(for: Self.self)) }

    private func assertOneConsistentEntry(_ registry: Registry, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try registry.list().map(\.reference), ["test/sam-small-random@1.0.0"], file: file, line: line)
        let report = try registry.verify(try ModelReference(parsing: "test/sam-small-random@1.0.0"), numbers: true)
        XCTAssert(report.ok, report.summary, file: file, line: line)
        let top = try FileManager.default.contentsOfDirectory(atPath: registry.root.path).sorted()
        XCTAssertEqual(top, [".lock", "index.json", "packages"], "leftovers (staging?) in the registry", file: file, line: line)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: registry.root.appendingPathComponent("packages/test--sam-small-random").path),
                       ["1.0.0"], file: file, line: line)
    }

    func testTwoProcessesInstallTheSamePackage() throws {
        let exe = try binary()
        let work = try ZooFixtures.temporaryDirectory(self)
        let tar = try ZooFixtures.pack(try ZooFixtures.buildBase(in: work))
        let root = work.appendingPathComponent("registry")
        for round in 0..<3 {
            try? FileManager.default.removeItem(at: root)
            var runs: [(Process, Pipe, Pipe)] = []
            for _ in 0..<2 {
                let p = Process()
                p.executableURL = exe
                p.arguments = ["zoo", "install", tar.path, "--registry", root.path]
                let out = Pipe(), err = Pipe()
                (p.standardOutput, p.standardError) = (out, err)
                runs.append((p, out, err))
            }
            for (p, _, _) in runs { try p.run() }
            var outputs: [String] = []
            for (p, out, err) in runs {
                let o = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                p.waitUntilExit()
                XCTAssertEqual(p.terminationStatus, 0, "round \(round): \(o) \(e)")
                outputs.append(o)
            }
            // One process installed it, the other found it installed.
            XCTAssertEqual(outputs.filter { $0.hasPrefix("installed test/sam-small-random@1.0.0") }.count, 1, "\(outputs)")
            XCTAssertEqual(outputs.filter { $0.contains("already installed") }.count, 1, "\(outputs)")
            try assertOneConsistentEntry(Registry(root: root))
        }
    }

    func testTwoThreadsWithSeparateRegistries() throws {
        let work = try ZooFixtures.temporaryDirectory(self)
        let pkg = try ZooFixtures.buildBase(in: work)
        let root = work.appendingPathComponent("registry")
        let results = ResultBox()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do { results.append(try Registry(root: root).install(from: pkg)) } catch { results.fail("\(error)") }
        }
        XCTAssertEqual(results.errors, [])
        XCTAssertEqual(results.outcomes.filter { if case .installed = $0 { return true } else { return false } }.count, 1)
        try assertOneConsistentEntry(Registry(root: root))
    }
}

/// Outcomes collected from several threads.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var outcomes: [Registry.InstallOutcome] = []
    private(set) var errors: [String] = []
    func append(_ o: Registry.InstallOutcome) { lock.lock(); outcomes.append(o); lock.unlock() }
    func fail(_ e: String) { lock.lock(); errors.append(e); lock.unlock() }
}
