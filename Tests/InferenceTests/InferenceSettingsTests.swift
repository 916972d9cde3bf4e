import Settings
import Testing

/// The `inference` configuration section: defaults, every key, and refusals naming the key.
@Suite struct InferenceSettingsTests {
    @Test func defaultsWhenAbsent() throws {
        let configuration = try DaemonConfiguration.parse("device_id: board-7\n", file: "/etc/remotair/r.yaml")
        #expect(configuration.inference == InferenceSettings())
        #expect(configuration.inference.threads == 1 && configuration.inference.arenaLimitMB == 64)
    }

    @Test func everyKeyIsRead() throws {
        let text = """
            device_id: board-7
            inference:
              model: models/duct.onnx
              threads: 2
              arena_limit_mb: 32
              labels: [clean, dirty]
              mean: [0.5, 0.5, 0.5]
              std: [0.25, 0.25, 0.25]
              resize: center_crop
            """
        let settings = try DaemonConfiguration.parse(text, file: "/etc/remotair/r.yaml").inference
        #expect(settings.model == "/etc/remotair/models/duct.onnx")
        #expect(settings.threads == 2 && settings.arenaLimitMB == 32)
        #expect(settings.labels == ["clean", "dirty"] && settings.mean == [0.5, 0.5, 0.5] && settings.std == [0.25, 0.25, 0.25])
        #expect(settings.resize == .centerCrop)
    }

    @Test func badValuesNameTheKey() throws {
        for (body, key) in [("  mean: [0.5, 0.5]\n", "inference.mean"), ("  resize: squash\n", "inference.resize"),
                            ("  threads: 0\n", "inference.threads"), ("  labels: [a, a]\n", "inference.labels"),
                            ("  modle: x.onnx\n", "inference.modle")] {
            let error = #expect(throws: ConfigurationError.self) {
                try DaemonConfiguration.parse("device_id: b\ninference:\n" + body, file: "r.yaml")
            }
            #expect(error?.keyPath == key, "\(body)")
        }
    }
}
