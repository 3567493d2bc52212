import Foundation
import GatehouseWire
public import Logging

/// Writes one JSON object per line to standard error: `{"level","logger","message","time",…metadata}`.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: Any] = [
            "time": WireCoding.format(Date()),
            "level": event.level.rawValue,
            "logger": self.label,
            "message": event.message.description,
        ]
        let merged = self.metadata.merging(event.metadata ?? [:]) { _, new in new }
        for (key, value) in merged { object[key] = Self.json(value) }
        if event.level >= .error { object["source"] = "\(event.file):\(event.line)" }
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        data.append(0x0A)
        FileHandle.standardError.write(data)
    }

    private static func json(_ value: Logger.MetadataValue) -> Any {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        case .array(let array): array.map(Self.json)
        case .dictionary(let dictionary): dictionary.mapValues(Self.json)
        }
    }
}

public enum LoggingBootstrap {
    /// Bootstraps swift-log once for the process: human text on a terminal, JSON lines otherwise.
    public static func bootstrap(format: ServiceConfiguration.LogFormat, level: Logger.Level) {
        let json: Bool
        switch format {
        case .json: json = true
        case .text: json = false
        case .auto: json = isatty(STDERR_FILENO) == 0
        }
        LoggingSystem.bootstrap { label in
            if json { return JSONLogHandler(label: label, level: level) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
