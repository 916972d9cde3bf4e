/// The daemon's version, reported by `--version`, `status` and alarm provenance.
enum RemotairVersion {
    static let string = "0.1.0"
}
