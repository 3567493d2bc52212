public import Foundation

/// The one JSON configuration of the wire: ISO 8601 times in UTC with fractional seconds, sorted
/// keys, no escaped slashes. Every service encodes and decodes through these.
public enum WireCoding {
    /// A new encoder with the wire's settings.
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(WireCoding.format(date))
        }
        return encoder
    }

    /// A new decoder with the wire's settings. Times with or without fractional seconds are accepted.
    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = WireCoding.parse(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container,
                    debugDescription: "expected an ISO 8601 date-time, got \(text.prefix(40))"
                )
            }
            return date
        }
        return decoder
    }

    /// Encodes `value` as wire JSON.
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        try self.makeEncoder().encode(value)
    }

    /// Decodes wire JSON.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try self.makeDecoder().decode(type, from: data)
    }

    private static let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
    private static let withoutFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: false, timeZone: .gmt)

    /// `2026-11-22T08:15:30.123Z`: always UTC, always three fractional digits.
    public static func format(_ date: Date) -> String {
        date.formatted(self.withFraction)
    }

    public static func parse(_ text: String) -> Date? {
        if let date = try? self.withFraction.parse(text) { return date }
        return try? self.withoutFraction.parse(text)
    }
}
