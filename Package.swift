// swift-tools-version:6.1
// Remotair edge daemon. One target per layer; the folder tree under Sources/ is the architecture:
//   C*            system libraries and C shims (ioctl numbers Swift cannot import)
//   Syscalls, I2C, V4L2, GPIO      thin OS/hardware seams: protocols, Linux implementations, no policy
//   Settings, Journal, Health, Systemd   configuration, logging, liveness, service manager integration
//   feature targets (Sensors, Vision, Inference, Outbox, Uplink, Risk, Control)  policy and drivers
//   Daemon        wires services into one ServiceGroup; remotaird / remotairctl are thin mains
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let log = Target.Dependency.product(name: "Logging", package: "swift-log")
let lifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let unixSignals = Target.Dependency.product(name: "UnixSignals", package: "swift-service-lifecycle")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let yams = Target.Dependency.product(name: "Yams", package: "Yams")

// MARK: - C system libraries and shims

let cTargets: [Target] = [
    .systemLibrary(name: "CGPIOD", pkgConfig: "libgpiod", providers: [.apt(["libgpiod-dev"])]),
    .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
    .target(name: "CV4L2", linkerSettings: [.linkedLibrary("v4l2")]),
    .target(name: "CI2C", linkerSettings: [.linkedLibrary("i2c")]),
]

// MARK: - Foundation layer: OS seams, configuration, logging, health, systemd

let foundationTargets: [Target] = [
    .target(name: "Syscalls", swiftSettings: swiftSettings),
    .target(name: "I2C", dependencies: ["Syscalls", "CI2C"], swiftSettings: swiftSettings),
    .target(name: "Settings", dependencies: [yams], swiftSettings: swiftSettings),
    .target(name: "Journal", dependencies: [log], swiftSettings: swiftSettings),
    .target(name: "Health", dependencies: [], swiftSettings: swiftSettings),
    .target(name: "Systemd", dependencies: ["Syscalls", "Health", "Journal", log, lifecycle], swiftSettings: swiftSettings),
    .target(name: "TestSupport", dependencies: [], path: "Tests/TestSupport", swiftSettings: swiftSettings),
]

// MARK: - Sensors: drivers, gas index algorithm, sensor service; byte-level chip emulators

let sensorTargets: [Target] = [
    .target(name: "Sensors", dependencies: ["I2C", "Settings", "Health", "Journal", log, lifecycle], swiftSettings: swiftSettings),
    .target(name: "SensorEmulators", dependencies: ["I2C", "Sensors"], swiftSettings: swiftSettings),
    .executableTarget(name: "SensorBench", dependencies: ["Sensors", "SensorEmulators", "I2C", "Settings", log], swiftSettings: swiftSettings),
]

let sensorTestTargets: [Target] = [
    .testTarget(
        name: "SensorsTests", dependencies: ["Sensors", "SensorEmulators", "I2C", "Settings", "Health", "TestSupport", log],
        resources: [.copy("Resources")], swiftSettings: swiftSettings
    ),
]

// MARK: - Daemon and executables

let daemonDependencies: [Target.Dependency] = [
    "Syscalls", "I2C", "Settings", "Journal", "Health", "Systemd", log, lifecycle, unixSignals,
    "Sensors", "SensorEmulators",
]

let appTargets: [Target] = [
    .target(name: "Daemon", dependencies: daemonDependencies, swiftSettings: swiftSettings),
    .executableTarget(name: "remotaird", dependencies: ["Daemon", "Settings", "Journal", "Sensors", argumentParser, log], swiftSettings: swiftSettings),
    .executableTarget(name: "remotairctl", dependencies: [argumentParser], swiftSettings: swiftSettings),
]

// MARK: - Tests

let testTargets: [Target] = [
    .testTarget(name: "SettingsTests", dependencies: ["Settings"], swiftSettings: swiftSettings),
    .testTarget(name: "JournalTests", dependencies: ["Journal", log], swiftSettings: swiftSettings),
    .testTarget(name: "SystemdTests", dependencies: ["Systemd", "Health", "Syscalls", "TestSupport", lifecycle, log], swiftSettings: swiftSettings),
    .testTarget(name: "DaemonTests", dependencies: ["Daemon", "Settings", "TestSupport", lifecycle, log], swiftSettings: swiftSettings),
]

let package = Package(
    name: "Remotair",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "remotaird", targets: ["remotaird"]),
        .executable(name: "remotairctl", targets: ["remotairctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
    ],
    targets: cTargets + foundationTargets + sensorTargets + appTargets + testTargets + sensorTestTargets,
    swiftLanguageModes: [.v6]
)
