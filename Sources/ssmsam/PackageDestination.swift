import ArgumentParser
import FileIO
import Foundation
import Zoo

/// Where a package that `zoo add` or `zoo publish` builds lands: the folder `--out` names (renamed into place),
/// or the registry (installed: verified there). It is built in a temporary folder beside its destination,
/// removed on failure and on Ctrl-C, so it lands whole or not at all.
struct PackageDestination {
    /// What happened to the package.
    enum Landing {
        case wrote(URL)
        case installed(RegistryIndex.Entry)
        case alreadyInstalled(RegistryIndex.Entry)
    }

    let out: String?
    let registry: Registry

    /// Runs `build` on the temporary folder, then lands it; `numbers`: rerun the golden inputs on install.
    func land(tag: String, numbers: Bool, _ build: (URL) throws -> Void) throws -> Landing {
        let fm = FileManager.default
        let target = out.map { URL(fileURLWithPath: $0) }
        if let target, fm.fileExists(atPath: target.path) { throw ValidationError("--out \(target.path) already exists") }
        let parent = target?.deletingLastPathComponent() ?? fm.temporaryDirectory
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        let tmp = parent.appendingPathComponent(".zoo-\(tag)-\(getpid())-\(UUID().uuidString.prefix(8))")
        let token = InterruptCleanup.register(tmp)
        defer { try? fm.removeItem(at: tmp); InterruptCleanup.forget(token) }
        try build(tmp)
        if let target {
            guard rename(tmp.path, target.path) == 0 else { throw ValidationError("cannot move the package to \(target.path)") }
            return .wrote(target)
        }
        switch try registry.install(from: tmp, numbers: numbers) {
        case .installed(let e): return .installed(e)
        case .alreadyInstalled(let e): return .alreadyInstalled(e)
        }
    }
}
