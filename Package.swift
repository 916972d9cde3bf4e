// swift-tools-version:6.1
// Remotair edge daemon. One target per layer; the folder tree under Sources/ is the architecture:
//   C*            system libraries and C shims (ioctl numbers Swift cannot import)
//   Syscalls, I2C, V4L2, GPIO      thin OS/hardware seams: protocols, Linux implementations, no policy
//   Settings, Journal, Health, Systemd, Geometry   configuration, logging, liveness, service manager integration, the region type
//   feature targets (Sensors, Vision, Inference, Outbox, Uplink, Risk, Control, ModelUpdates)  policy and drivers
//   ControlProtocol   the control socket's wire types, depending on nothing (remotairctl links no server)
//   Simulation    the simulated board (a product feature): emulator preset, replayed cameras, in-memory GPIO, scenarios
//   Daemon        wires services into one ServiceGroup
//   FieldTools    remotaird's commands (check-config, sensors, capture, classify, infer) as functions tests call
//   remotaird / remotairctl   thin mains: parse the command line, call a library
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
let grdb = Target.Dependency.product(name: "GRDB", package: "GRDB.swift")
let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
let httpClient = Target.Dependency.product(name: "AsyncHTTPClient", package: "async-http-client")
let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioHTTP1 = Target.Dependency.product(name: "NIOHTTP1", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")

// MARK: - C system libraries and shims

let cTargets: [Target] = [
    .systemLibrary(name: "CGPIOD", pkgConfig: "libgpiod", providers: [.apt(["libgpiod-dev"])]),
    .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
    // One library for every systemd protocol: sd_notify, socket activation, the journal's native fields.
    .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
    .target(name: "CV4L2", linkerSettings: [.linkedLibrary("v4l2")]),
    .target(name: "CI2C", linkerSettings: [.linkedLibrary("i2c")]),
]

// MARK: - Foundation layer: OS seams, configuration, logging, health, systemd

let foundationTargets: [Target] = [
    .systemLibrary(name: "CMalloc"),
    .target(name: "Syscalls", dependencies: ["CMalloc"], swiftSettings: swiftSettings),
    .target(name: "I2C", dependencies: ["Syscalls", "CI2C"], swiftSettings: swiftSettings),
    .target(name: "Settings", dependencies: ["Geometry", "ControlProtocol", yams], swiftSettings: swiftSettings),
    // The one region type: a rectangle in normalised image coordinates (configuration, cameras, decoder, classifier).
    .target(name: "Geometry", swiftSettings: swiftSettings),
    .target(name: "Timestamps", swiftSettings: swiftSettings),
    .target(name: "Journal", dependencies: ["CSystemd", "Timestamps", log], swiftSettings: swiftSettings),
    .target(name: "Health", dependencies: [], swiftSettings: swiftSettings),
    .testTarget(name: "HealthTests", dependencies: ["Health"], swiftSettings: swiftSettings),
    .target(name: "Systemd", dependencies: ["CSystemd", "Syscalls", "Health", "Journal", log, lifecycle], swiftSettings: swiftSettings),
    .target(name: "TestSupport", dependencies: [], path: "Tests/TestSupport", swiftSettings: swiftSettings),
]

// MARK: - Risk: pure state machines (no I/O), time passed in

let riskTargets: [Target] = [
    .target(name: "Risk", swiftSettings: swiftSettings),
    .testTarget(name: "RiskTests", dependencies: ["Risk"], swiftSettings: swiftSettings),
    // The main job: captures -> classification -> risk -> alarm and snapshot documents, behind small seams.
    .target(name: "Monitoring", dependencies: ["Geometry", "Risk", "Health", "Timestamps", log, lifecycle], swiftSettings: swiftSettings),
    // The bucket's key layout, owned by the main job and shared with the uplink (which links no Monitoring).
    .target(name: "ObjectLayout", dependencies: ["Timestamps"], swiftSettings: swiftSettings),
    .testTarget(name: "MonitoringTests", dependencies: ["Monitoring", "Geometry", "ObjectLayout", "Risk", "Health", "TestSupport", log, lifecycle], swiftSettings: swiftSettings),
]

// MARK: - Simulation: the simulated board as a product feature (not test fakes: those live under Tests/)

let simulationTargets: [Target] = [
    .target(name: "Simulation", dependencies: ["I2C", "GPIO", "V4L2", "JPEG", "Vision", "Sensors", "SensorEmulators", "Settings", log],
            swiftSettings: swiftSettings),
    .testTarget(name: "SimulationTests", dependencies: ["Simulation", "Settings", "Sensors", "SensorEmulators", "Vision", "GPIO", "TestSupport"],
                swiftSettings: swiftSettings),
]

// MARK: - Sensors: drivers, gas index algorithm, sensor service; byte-level chip emulators

let sensorTargets: [Target] = [
    .target(name: "Sensors", dependencies: ["I2C", "Settings", "Health", "Journal", log, lifecycle], swiftSettings: swiftSettings),
    .target(name: "SensorEmulators", dependencies: ["I2C", "Sensors"], swiftSettings: swiftSettings),
    .executableTarget(name: "SensorBench", dependencies: ["Sensors", "SensorEmulators", "Simulation", "I2C", "Settings", log], swiftSettings: swiftSettings),
]

let sensorTestTargets: [Target] = [
    .testTarget(
        name: "SensorsTests", dependencies: ["Sensors", "SensorEmulators", "I2C", "Settings", "Health", "TestSupport", log],
        resources: [.copy("Resources")], swiftSettings: swiftSettings
    ),
]

// MARK: - Outbox and uplink: durable queue on SQLite + spool files, SigV4 uploads to S3-compatible storage

let outboxTargets: [Target] = [
    .target(name: "Digests", dependencies: [crypto], swiftSettings: swiftSettings),
    .target(name: "Outbox", dependencies: ["Syscalls", "Settings", "Digests", "Timestamps", log, grdb], swiftSettings: swiftSettings),
    .target(
        name: "Uplink",
        dependencies: ["Outbox", "ObjectLayout", "Digests", "Syscalls", "Settings", "Journal", "Timestamps", log, lifecycle, crypto, httpClient, nioCore, nioHTTP1],
        swiftSettings: swiftSettings
    ),
    // Child process for scripts/testing/crash-outbox and scripts/bench/bench-outbox: enqueues and uploads until killed.
    .executableTarget(name: "outbox-torture", dependencies: ["Outbox", "ObjectLayout", "Uplink", "Digests", "Settings", log, crypto], swiftSettings: swiftSettings),
]

let outboxTestTargets: [Target] = [
    .testTarget(name: "OutboxTests", dependencies: ["Outbox", "Digests", "Settings", "TestSupport", grdb, crypto], swiftSettings: swiftSettings),
    .testTarget(
        name: "UplinkTests",
        dependencies: ["Uplink", "Outbox", "ObjectLayout", "Digests", "Settings", "TestSupport", log, lifecycle, crypto, httpClient, nioCore],
        exclude: ["Resources"],
        swiftSettings: swiftSettings
    ),
]

// MARK: - Daemon and executables

let daemonDependencies: [Target.Dependency] = [
    "Syscalls", "I2C", "Settings", "Journal", "Health", "Systemd", log, lifecycle, unixSignals,
    "Sensors", "SensorEmulators", "Risk", "Monitoring", "ObjectLayout", "Outbox", "Uplink", "ControlProtocol", "Control", "Inference", "JPEG", "Digests", "Timestamps", crypto,
    "MQTT", "MQTTSink",
]

// MARK: - Control socket and remotairctl

// ControlProtocol: the wire types and limits, depending on nothing, so remotairctl links no server code.
let controlTargets: [Target] = [
    .target(name: "ControlProtocol", swiftSettings: swiftSettings),
    .target(name: "Control", dependencies: ["ControlProtocol", "CSystemd", "Settings", "Syscalls", "Timestamps", log, lifecycle, nioCore, nioPosix], swiftSettings: swiftSettings),
    .target(name: "ControlClient", dependencies: ["ControlProtocol", "Syscalls"], swiftSettings: swiftSettings),
]

let controlTestTargets: [Target] = [
    .testTarget(name: "ControlProtocolTests", dependencies: ["ControlProtocol"], swiftSettings: swiftSettings),
    .testTarget(
        name: "ControlTests",
        dependencies: [
            "ControlProtocol", "Control", "ControlClient", "Settings", "TestSupport", log, lifecycle, nioCore, nioPosix,
            .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "NIOTestUtils", package: "swift-nio"),
        ],
        exclude: ["Golden"],
        swiftSettings: swiftSettings
    ),
]

// remotaird's link (measured with scripts/bench/bench-classifier): lld's packed relative relocations (DT_RELR;
// glibc >= 2.36, Debian 12) and not exporting every Swift symbol (the static stdlib's link arguments pass
// -export-dynamic) spare the dynamic loader ~5 MB of relocation and symbol-table pages at every start;
// placing the functions `classify` and then the daemon run together (symbol-order.txt, from
// scripts/maintenance/order-symbols) saves code pages: ~5 MB for classify, ~8 MB for the daemon (scripts/testing/soak).
// The C++ runtime is linked statically (Sources/remotaird/link/libstdc++.so, a linker script): the shared
// libstdc++ costs ~1.4 MB resident at every start (its symbol tables for the loader, its locale set-up)
// where remotaird uses little of it; classify's peak fell from 20.6 to 19.6 MB.
let daemonLinkerSettings: [LinkerSetting] = [
    .unsafeFlags(["-L", "\(Context.packageDirectory)/Sources/remotaird/link", "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic",
                  "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/remotaird/symbol-order.txt",
                  "-Xlinker", "--no-warn-symbol-ordering"],
                 .when(platforms: [.linux])),
]

let appTargets: [Target] = [
    .target(name: "Daemon", dependencies: daemonDependencies + ["Geometry", "Vision", "V4L2", "GPIO", "Simulation", "ModelUpdates"], swiftSettings: swiftSettings),
    .target(name: "FieldTools", dependencies: ["Daemon", "Simulation", "Settings", "Journal", "Sensors", "Vision", "Inference", log], swiftSettings: swiftSettings),
    .testTarget(name: "FieldToolsTests", dependencies: ["FieldTools", "Daemon", "Simulation", "Settings", "Inference", "JPEG", "TestSupport"], swiftSettings: swiftSettings),
    .executableTarget(name: "remotaird", dependencies: ["FieldTools", "Daemon", "Settings", "Syscalls", argumentParser], exclude: ["symbol-order.txt", "link"],
                      swiftSettings: swiftSettings, linkerSettings: daemonLinkerSettings),
    .executableTarget(name: "remotairctl", dependencies: ["ControlProtocol", "ControlClient", argumentParser], swiftSettings: swiftSettings),
]

// MARK: - Cameras and illumination

let cameraTargets: [Target] = [
    .target(name: "JPEG", dependencies: ["Geometry", "CTurboJPEG"], swiftSettings: swiftSettings),
    .target(name: "V4L2", dependencies: ["CV4L2", "Syscalls"], swiftSettings: swiftSettings),
    .target(name: "GPIO", dependencies: ["CGPIOD", "Syscalls"], swiftSettings: swiftSettings),
    .target(name: "Vision", dependencies: ["Geometry", "JPEG", "V4L2", "GPIO", "Settings", "Journal", "Timestamps", log, lifecycle], swiftSettings: swiftSettings),
    // Benchmark: scripts/bench/bench-jpeg builds it in release.
    .executableTarget(name: "bench-jpeg", dependencies: ["JPEG"], swiftSettings: swiftSettings),
]

let cameraTestTargets: [Target] = [
    .testTarget(name: "JPEGTests", dependencies: ["Geometry", "JPEG"], swiftSettings: swiftSettings),
    // The V4L2 fake device, for tests only (NIOEmbedded-style: beside the product, never in it).
    .target(name: "V4L2Testing", dependencies: ["V4L2"], path: "Tests/V4L2Testing", swiftSettings: swiftSettings),
    .testTarget(name: "V4L2Tests", dependencies: ["V4L2", "V4L2Testing"], swiftSettings: swiftSettings),
    .testTarget(name: "GPIOTests", dependencies: ["GPIO", "Simulation"], swiftSettings: swiftSettings),
    .testTarget(name: "VisionTests", dependencies: ["Vision", "Geometry", "JPEG", "V4L2", "V4L2Testing", "GPIO", "Simulation", "Settings", "TestSupport", lifecycle, log], swiftSettings: swiftSettings),
]

// MARK: - Inference (ONNX loading, execution plans, int8 kernels, classifier)

let protobuf = Target.Dependency.product(name: "SwiftProtobuf", package: "swift-protobuf")

let inferenceTargets: [Target] = [
    .target(name: "ONNX", dependencies: [protobuf], exclude: ["Generated/README.md"], swiftSettings: swiftSettings),
    // Hot loops in C so they are vectorised even in debug builds (tests run the same kernels as release).
    // -fwrapv: int32 accumulators wrap on overflow (defined, and what onnxruntime's kernels do).
    .target(name: "CInferenceKernels", cSettings: [.unsafeFlags(["-O3", "-fno-math-errno", "-fwrapv"])]),
    .target(name: "Inference", dependencies: ["Geometry", "ONNX", "CInferenceKernels", "JPEG", "Settings", "Digests", "Syscalls", log], swiftSettings: swiftSettings),
]

let inferenceTestTargets: [Target] = [
    // Counts the test thread's heap allocations (interposes malloc) to prove inference allocates nothing.
    .target(name: "CAllocationCounter", path: "Tests/CAllocationCounter", linkerSettings: [.linkedLibrary("dl")]),
    .testTarget(name: "InferenceTests", dependencies: ["Geometry", "Inference", "ONNX", "JPEG", "Settings", "TestSupport", "CAllocationCounter", protobuf],
                exclude: ["Fixtures"], swiftSettings: swiftSettings),
]

// MARK: - MQTT: libmosquitto (its network loop on a thread of its own) behind async functions, no policy

let mqttTargets: [Target] = [
    .systemLibrary(name: "CMosquitto", pkgConfig: "libmosquitto", providers: [.apt(["libmosquitto-dev"])]),
    .target(name: "MQTT", dependencies: ["CMosquitto"], swiftSettings: swiftSettings),
    // Against a real mosquitto started by the tests (TLS, client certificates, ACL); the daemon tests seed its outbox.
    .testTarget(name: "MQTTTests", dependencies: ["MQTT", "TestSupport", "Outbox", "Settings", log], swiftSettings: swiftSettings),
    // The sink's policy (connect, backoff with full jitter, pause on TLS/auth failure, one event at a time) and the
    // command topic's request envelope: pure.
    .target(name: "MQTTSink", dependencies: ["Outbox", "ControlProtocol"], swiftSettings: swiftSettings),
    .testTarget(name: "MQTTSinkTests", dependencies: ["MQTTSink", "Outbox", "ControlProtocol"], swiftSettings: swiftSettings),
]

// MARK: - Fuzzing: libFuzzer entry points for model and JPEG bytes (scripts/testing/fuzz-inference)

let fuzzTargets: [Target] = [
    .executableTarget(name: "inference-fuzz", dependencies: ["Inference", "ONNX", "Settings"], swiftSettings: swiftSettings),
]

// MARK: - Tests

let testTargets: [Target] = [
    .testTarget(name: "SettingsTests", dependencies: ["Settings"], swiftSettings: swiftSettings),
    // Every key of the example configuration and calibration made hostile, through the Settings parsers and
    // the built remotaird check-config; control request arguments through the dispatcher (issue 21).
    .testTarget(name: "ConfigFuzzTests", dependencies: ["Settings", "ControlProtocol", "Control", "TestSupport", yams, log], swiftSettings: swiftSettings),
    .testTarget(name: "JournalTests", dependencies: ["Journal", log], swiftSettings: swiftSettings),
    .testTarget(name: "TimestampsTests", dependencies: ["Timestamps"], swiftSettings: swiftSettings),
    .testTarget(name: "SyscallsTests", dependencies: ["Syscalls", "CMalloc"], swiftSettings: swiftSettings),
    .testTarget(name: "SystemdTests", dependencies: ["Systemd", "Health", "Syscalls", "TestSupport", lifecycle, log], swiftSettings: swiftSettings),
    .testTarget(name: "DaemonTests", dependencies: ["Daemon", "Settings", "TestSupport", "ControlProtocol", "Control", "Health", lifecycle, log], swiftSettings: swiftSettings),
]

// MARK: - Model updates (issue 22): signed bundles from S3, verified and reproduced on the board, activated atomically

let modelUpdateTargets: [Target] = [
    .target(name: "ModelUpdates", dependencies: ["Settings", "Inference", "Syscalls", "Digests", crypto, log, lifecycle], swiftSettings: swiftSettings),
    .testTarget(name: "ModelUpdatesTests", dependencies: ["ModelUpdates", "Settings", "Inference", crypto, log], swiftSettings: swiftSettings),
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
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: cTargets + foundationTargets + riskTargets + simulationTargets + appTargets + testTargets
        + cameraTargets + cameraTestTargets + sensorTargets + sensorTestTargets + inferenceTargets + inferenceTestTargets
        + outboxTargets + outboxTestTargets + controlTargets + controlTestTargets + fuzzTargets + modelUpdateTargets + mqttTargets,
    swiftLanguageModes: [.v6]
)
