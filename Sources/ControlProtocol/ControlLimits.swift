/// Where the daemon listens when neither configuration nor the client names a socket. The daemon
/// builds its path from `runtime_dir` and `fileName`; `remotairctl` falls back to `defaultPath`: one
/// definition, so the two cannot drift apart.
public enum ControlSocketPath {
    /// The socket's file name inside the daemon's runtime directory.
    public static let fileName = "control.sock"
    /// The runtime directory systemd creates for the daemon (`RuntimeDirectory=remotair`).
    public static let defaultRuntimeDirectory = "/run/remotair"
    /// `/run/remotair/control.sock`.
    public static let defaultPath = defaultRuntimeDirectory + "/" + fileName
}

/// The SCD4x forced recalibration's reference range in ppm (outdoor air is about 420 ppm): the daemon
/// refuses anything outside it, and `remotairctl` checks it before connecting.
public enum CO2Calibration {
    public static let referenceRange = 400...2000
}
