import ControlProtocol

/// Turns each command's result into the text `remotairctl` prints.
public struct Renderer: Sendable {
    public var style: TerminalStyle

    public init(style: TerminalStyle) {
        self.style = style
    }

    private func state(_ word: String) -> TextTable.Cell {
        TextTable.Cell(word, colour: TerminalStyle.colour(forState: word))
    }

    public func status(_ result: StatusResult) -> String {
        var text = "\(style.bold(result.deviceID))  \(style.paint(result.state, TerminalStyle.colour(forState: result.state)))"
        text += "  up \(Formatting.span(result.uptimeSeconds))\n"
        let versions = result.versions.keys.sorted().map { "\($0) \(result.versions[$0]!)" }.joined(separator: ", ")
        if !versions.isEmpty { text += "versions: \(versions)\n" }
        guard !result.subsystems.isEmpty else { return text + "no subsystems report yet\n" }
        var table = TextTable([.init("SUBSYSTEM"), .init("STATE"), .init("SINCE"), .init("DETAIL")])
        for subsystem in result.subsystems {
            let detail = subsystem.detail.keys.sorted().map { "\($0)=\(subsystem.detail[$0]!)" }.joined(separator: " ")
            table.add([.init(subsystem.name), state(subsystem.state), .init(Formatting.ago(subsystem.sinceSeconds)), .init(detail)])
        }
        return text + "\n" + table.render(style: style)
    }

    public func sensors(_ result: SensorsResult) -> String {
        guard !result.readings.isEmpty else { return "no sensor readings yet\n" }
        var table = TextTable([.init("QUANTITY"), .init("SENSOR"), .init("VALUE", .right), .init("UNIT"), .init("AGE"), .init("STATE")])
        for reading in result.readings {
            table.add([
                .init(reading.name), .init(reading.sensor), .init(Formatting.number(reading.value)), .init(reading.unit),
                .init(Formatting.ago(reading.ageSeconds)), state(reading.state),
            ])
        }
        return table.render(style: style)
    }

    public func capture(_ result: CaptureResult) -> String {
        var table = TextTable([.init("CAMERA"), .init("LABEL"), .init("SCORES"), .init("QUALITY"), .init("SNAPSHOT"), .init("TIMINGS")])
        var errors: [String] = []
        for camera in result.cameras {
            let scores = camera.scores.keys.sorted().map { "\($0) \(Formatting.number(camera.scores[$0]!, decimals: 2))" }.joined(separator: ", ")
            let timings = camera.timings.keys.sorted().map { "\($0) \(Formatting.milliseconds(camera.timings[$0]!))" }.joined(separator: ", ")
            if let error = camera.error {
                table.add([.init(camera.name), TextTable.Cell("error", colour: .red), "-", "-", "-", .init(timings.isEmpty ? "-" : timings)])
                errors.append("\(camera.name): \(style.paint(error.code.rawValue, .red)): \(error.message)")
            } else {
                let snapshot: TextTable.Cell = camera.snapshotQueued == false
                    ? TextTable.Cell("not queued", colour: .red) : .init(camera.snapshotID ?? "-")
                table.add([
                    .init(camera.name), state(camera.label ?? "-"), .init(scores.isEmpty ? "-" : scores),
                    .init(camera.quality.isEmpty ? "ok" : camera.quality.joined(separator: ",")),
                    snapshot, .init(timings.isEmpty ? "-" : timings),
                ])
            }
            if camera.snapshotQueued == false {
                let why = camera.snapshotError.map { "\(style.paint($0.code.rawValue, .red)): \($0.message)" } ?? "no reason given"
                errors.append("\(camera.name): snapshot not queued for upload: \(why)")
            }
        }
        var text = table.render(style: style)
        for error in errors { text += error + "\n" }
        text += "total \(Formatting.milliseconds(result.totalMilliseconds)), "
        let refused = result.cameras.filter { $0.snapshotQueued == false }.map(\.name)
        if !refused.isEmpty {
            // Field staff must not leave the duct believing the snapshot is on its way.
            text += style.paint("snapshot\(refused.count == 1 ? "" : "s") of \(refused.joined(separator: ", ")) NOT queued for upload", .red)
        } else {
            text += result.upload ? "snapshots queued for upload" : "not uploaded (--no-upload)"
        }
        if let note = result.note { text += ", note: \"\(note)\"" }
        return text + "\n"
    }

    public func alarms(_ result: AlarmsResult) -> String {
        guard !result.alarms.isEmpty else { return "no active alarms\n" }
        var table = TextTable([.init("SEVERITY"), .init("KIND"), .init("RAISED"), .init("UPLOADED"), .init("ID"), .init("MESSAGE")])
        var notes: [String] = []
        for alarm in result.alarms {
            table.add([
                TextTable.Cell(alarm.severity, colour: alarm.severity == "critical" ? .red : .yellow), .init(alarm.kind),
                .init(Formatting.ago(alarm.ageSeconds)), uploadCell(alarm), .init(alarm.id), .init(alarm.message),
            ])
            if let upload = alarm.upload {
                if let key = upload.objectKey, upload.state == "uploaded" {
                    notes.append("\(alarm.id): uploaded\(upload.uploadedAt.map { " at \($0)" } ?? "") as \(key)")
                } else if let error = upload.lastError {
                    notes.append("\(alarm.id): \(Self.words(upload.state)): \(error)")
                }
            }
        }
        return table.render(style: style) + notes.map { $0 + "\n" }.joined()
    }

    /// `not_queued` -> `not queued`, without Foundation.
    private static func words(_ state: String) -> String {
        String(state.map { $0 == "_" ? " " : $0 })
    }

    /// The UPLOADED column: the outbox's state when the daemon reports it, else the old yes/no.
    private func uploadCell(_ alarm: AlarmsResult.Alarm) -> TextTable.Cell {
        guard let upload = alarm.upload else { return .init(alarm.uploaded ? "yes" : "no") }
        switch upload.state {
        case "uploaded":
            return TextTable.Cell(upload.uploadedAgeSeconds.map { "yes, \(Formatting.ago($0))" } ?? "yes", colour: .green)
        case "queued":
            let attempts = upload.attempts ?? 0
            return TextTable.Cell(attempts > 0 ? "queued, \(attempts) failed attempt\(attempts == 1 ? "" : "s")" : "queued", colour: .yellow)
        case "not_queued", "lost":
            return TextTable.Cell(Self.words(upload.state), colour: .red)
        default:
            return TextTable.Cell(upload.state, colour: .yellow)
        }
    }

    public func outbox(_ result: OutboxResult) -> String {
        var text: String
        if result.entries.isEmpty {
            text = "outbox is empty\n"
        } else {
            var table = TextTable([.init("KIND"), .init("STATE"), .init("COUNT", .right), .init("SIZE", .right)])
            for entry in result.entries {
                table.add([.init(entry.kind), state(entry.state), .init(String(entry.count)), .init(Formatting.bytes(entry.bytes))])
            }
            text = table.render(style: style)
        }
        text += "oldest waiting: \(result.oldestAgeSeconds.map { Formatting.ago($0) } ?? "none")\n"
        if let error = result.lastError {
            text += "last error: \(style.paint(error, .red)) (\(Formatting.ago(result.lastErrorAgeSeconds)))\n"
        } else {
            text += "last error: none\n"
        }
        return text
    }

    public func outboxFlush(_ result: OutboxFlushResult) -> String {
        result.retrying == 0 ? "nothing waiting; outbox is empty\n" : "\(result.retrying) item(s) due for upload now\n"
    }

    public func reload(_ result: ReloadResult) -> String {
        result.reloaded.isEmpty ? "reloaded; nothing changed\n" : "reloaded: \(result.reloaded.joined(separator: ", "))\n"
    }

    public func calibration(_ result: CalibrationResult) -> String {
        let sign = result.correctionPPM >= 0 ? "+" : ""
        return "\(result.sensor) recalibrated to \(result.referencePPM) ppm (correction \(sign)\(result.correctionPPM) ppm)\n"
    }

    public func version(_ result: VersionResult, client: String) -> String {
        var text = "remotaird \(result.daemon) (control protocol \(result.protocol))\nremotairctl \(client)\n"
        for key in result.components.keys.sorted() {
            text += "\(key) \(result.components[key]!)\n"
        }
        return text
    }
}
