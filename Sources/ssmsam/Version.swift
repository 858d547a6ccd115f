/// The toolkit's version, printed by `ssmsam --version` and written into zoo manifests.
enum ToolkitVersion {
    static let string = "0.1.0"
}
