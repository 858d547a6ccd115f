import Foundation

/// Foundation's file errors in words a person can act on, instead of `Error Domain=NSCocoaErrorDomain Code=642 ...`.
public enum FileErrors {
    /// The cause of a file-system error: its POSIX error's text when it carries one ("Read-only file system",
    /// "Operation not permitted"), else the Cocoa code's meaning, else Foundation's own description.
    public static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let posix = ns.userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(posix.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        switch ns.code {
        case NSFileWriteVolumeReadOnlyError: return "the volume is read-only"
        case NSFileWriteNoPermissionError, NSFileReadNoPermissionError: return "permission denied"
        case NSFileWriteOutOfSpaceError: return "no space left on the device"
        case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return "no such file or folder"
        default: return path(of: error).flatMap(blockingAncestor) ?? ns.localizedDescription
        }
    }

    /// The file or folder named by a Foundation error's user info, if any.
    static func path(of error: Error) -> String? {
        let info = (error as NSError).userInfo
        return info[NSFilePathErrorKey] as? String ?? (info[NSURLErrorKey] as? URL)?.path
    }

    /// Why nothing can be created at `path`, from its nearest existing ancestor: a file where a folder is
    /// needed, or a folder that is not writable (Foundation reports both as an unknown error).
    static func blockingAncestor(_ path: String) -> String? {
        let fm = FileManager.default
        var url = URL(fileURLWithPath: path).deletingLastPathComponent()
        while url.path != "/", !fm.fileExists(atPath: url.path) { url.deleteLastPathComponent() }
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDir) else { return nil }
        if !isDir.boolValue { return "\(url.path) is a file, not a folder" }
        return fm.isWritableFile(atPath: url.path) ? nil : "the folder \(url.path) is not writable"
    }

    /// `PATH: reason` for a Foundation file error that names its path, else the reason alone.
    public static func describe(_ error: Error) -> String {
        path(of: error).map { "\($0): \(reason(error))" } ?? reason(error)
    }
}
