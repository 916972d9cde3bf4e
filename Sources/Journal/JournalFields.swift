import Logging

/// The fields of one native journal entry (systemd.journal-fields(7)), as `NAME=value` strings for
/// `sd_journal_sendv`. Pure, so the mapping is tested without journald.
///
/// Each metadata key becomes `REMOTAIR_<KEY>`: `camera` → `REMOTAIR_CAMERA`, `alarm_kind` → `REMOTAIR_ALARM_KIND`,
/// so `journalctl -u remotaird REMOTAIR_CAMERA=upstream` finds every event about that camera.
public enum JournalFields {
    /// Prefix of our own fields: keeps them apart from journald's and other programs' fields, and means a
    /// name never starts with an underscore (journald drops those: they are its trusted fields) or a digit.
    public static let prefix = "REMOTAIR_"

    /// journald drops fields whose name is longer than this.
    public static let maximumNameLength = 64

    /// The entry for one event: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, the code location, then one field per
    /// metadata key in key order. Values are sent as they are: the native protocol carries newlines.
    public static func entry(
        level: Logger.Level, message: String, metadata: Logger.Metadata, identifier: String,
        file: String, line: UInt, function: String
    ) -> [String] {
        var fields = [
            "MESSAGE=\(message)",
            "PRIORITY=\(JournalLogHandler.priority(of: level))",
            "SYSLOG_IDENTIFIER=\(identifier)",
            "CODE_FILE=\(file)",
            "CODE_LINE=\(line)",
            "CODE_FUNC=\(function)",
        ]
        for key in metadata.keys.sorted() {
            guard let name = name(forMetadataKey: key), let value = metadata[key] else { continue }
            fields.append("\(name)=\(JournalLogHandler.render(value))")
        }
        return fields
    }

    /// `REMOTAIR_` and the key upper-cased, every character journald does not accept in a name (anything but
    /// A-Z, 0-9 and `_`) replaced by `_`, cut to 64 characters; nil for an empty key.
    public static func name(forMetadataKey key: String) -> String? {
        guard !key.isEmpty else { return nil }
        var name = prefix
        for scalar in key.unicodeScalars {
            guard name.utf8.count < maximumNameLength else { break }
            switch scalar {
            case "A"..."Z", "0"..."9", "_": name.unicodeScalars.append(scalar)
            case "a"..."z": name.unicodeScalars.append(Unicode.Scalar(UInt8(scalar.value - 32)))
            default: name.unicodeScalars.append("_")
            }
        }
        return name
    }
}
