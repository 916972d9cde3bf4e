import ArgumentParser

/// Field-staff client for the daemon's control socket.
@main
struct RemotairCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remotairctl",
        abstract: "Talk to the running remotaird: status, sensors, manual capture, alarms, outbox.",
        discussion: "Connects to the daemon's control socket (default /run/remotair/control.sock). Exit status: 0 ok, 1 the command failed, 2 usage, 3 the daemon cannot be reached.",
        version: "0.1.0"
    )

    @Option(name: .long, help: "Control socket path.")
    var socket: String = "/run/remotair/control.sock"
}
