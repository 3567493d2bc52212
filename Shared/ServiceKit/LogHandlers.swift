package import Foundation
import GatehouseWire
public import Logging

/// Writes one JSON object per line to standard error: `{"time","level","logger","message",…metadata}`.
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
        var line = Self.line(
            time: Date(),
            level: event.level,
            label: self.label,
            message: event.message.description,
            metadata: self.metadata.merging(event.metadata ?? [:]) { _, new in new },
            source: event.level >= .error ? "\(event.file):\(event.line)" : nil
        )
        line.append(0x0A)
        // One write per line: lines from several threads do not interleave.
        line.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }

    /// One log line as JSON (without its newline): `time`, `level`, `logger`, `message`, then the
    /// metadata and `source` with their keys in byte order, so lines compare and diff well. Written
    /// by hand: a service logs a line per door decision, and `JSONSerialization` with sorted keys
    /// cost an eighth of access control's CPU.
    package static func line(
        time: Date,
        level: Logger.Level,
        label: String,
        message: String,
        metadata: Logger.Metadata,
        source: String?
    ) -> [UInt8] {
        var entries: [(key: String, value: Logger.MetadataValue)] = metadata.map { ($0.key, $0.value) }
        for fixed in ["time", "level", "logger", "message", "source"] { entries.removeAll { $0.key == fixed } }
        if let source { entries.append(("source", .string(source))) }
        entries.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(160 + message.utf8.count)
        bytes.append(contentsOf: Array(#"{"time":""#.utf8))
        WireCoding.appendTimestamp(milliseconds: Int64((time.timeIntervalSince1970 * 1000).rounded()), to: &bytes)
        bytes.append(contentsOf: Array(#"","level":"#.utf8))
        Self.appendString(level.rawValue, to: &bytes)
        bytes.append(contentsOf: Array(#","logger":"#.utf8))
        Self.appendString(label, to: &bytes)
        bytes.append(contentsOf: Array(#","message":"#.utf8))
        Self.appendString(message, to: &bytes)
        for (key, value) in entries {
            bytes.append(UInt8(ascii: ","))
            Self.appendString(key, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            Self.append(value, to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private static func append(_ value: Logger.MetadataValue, to bytes: inout [UInt8]) {
        switch value {
        case .string(let string): Self.appendString(string, to: &bytes)
        case .stringConvertible(let convertible): Self.appendString(convertible.description, to: &bytes)
        case .array(let array):
            bytes.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                Self.append(element, to: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        case .dictionary(let dictionary):
            bytes.append(UInt8(ascii: "{"))
            for (index, key) in dictionary.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                Self.appendString(key, to: &bytes)
                bytes.append(UInt8(ascii: ":"))
                Self.append(dictionary[key]!, to: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    /// A JSON string (RFC 8259): quotes, backslashes and control characters escaped, the rest as UTF-8.
    static func appendString(_ string: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20, 0x7F:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
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
