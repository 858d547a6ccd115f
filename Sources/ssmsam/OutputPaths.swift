import ArgumentParser
import Foundation

/// Output files checked before any work: each must go into an existing, writable folder and must not be a
/// folder itself, so a typo in the last option does not cost an encoder run or leave the other outputs behind.
enum OutputPaths {
    static func check(_ paths: [(option: String, path: String?)]) throws {
        let fm = FileManager.default
        for case let (option, path?) in paths {
            let url = URL(fileURLWithPath: path)
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
                throw ValidationError("\(option) \(path) is a folder, expected a file name")
            }
            let parent = url.deletingLastPathComponent().path
            guard fm.fileExists(atPath: parent, isDirectory: &isDir), isDir.boolValue else {
                throw ValidationError("\(option) \(path): the folder \(parent) does not exist")
            }
            guard access(parent, W_OK) == 0 else { throw ValidationError("\(option) \(path): the folder \(parent) is not writable") }
        }
    }
}
