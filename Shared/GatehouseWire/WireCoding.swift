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

    /// `2026-11-22T08:15:30.123Z`: always UTC, always three fractional digits, rounded to the
    /// nearest millisecond (so a time that went through a database with microsecond precision, or
    /// through a `Double`, formats the same again). Years 0001–9999.
    public static func format(_ date: Date) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        self.appendTimestamp(milliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded()), to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `date` rounded to the millisecond, as ``format(_:)`` writes it and a database keeps it.
    public static func millisecondPrecision(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
    }

    /// Appends the 24 bytes of ``format(_:)`` for `milliseconds` since 1970-01-01T00:00:00Z.
    public static func appendTimestamp(milliseconds totalMilliseconds: Int64, to bytes: inout [UInt8]) {
        var milliseconds = totalMilliseconds % 86_400_000
        var days = totalMilliseconds / 86_400_000
        if milliseconds < 0 {
            milliseconds += 86_400_000
            days -= 1
        }
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)

        let offset = bytes.count
        bytes.append(contentsOf: repeatElement(UInt8(0), count: 24))
        func put(_ value: Int64, _ width: Int, at position: Int) {
            var value = value
            for index in stride(from: offset + position + width - 1, through: offset + position, by: -1) {
                bytes[index] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
        }
        put(year, 4, at: 0)
        bytes[offset + 4] = UInt8(ascii: "-")
        put(month, 2, at: 5)
        bytes[offset + 7] = UInt8(ascii: "-")
        put(day, 2, at: 8)
        bytes[offset + 10] = UInt8(ascii: "T")
        put(milliseconds / 3_600_000, 2, at: 11)
        bytes[offset + 13] = UInt8(ascii: ":")
        put(milliseconds / 60_000 % 60, 2, at: 14)
        bytes[offset + 16] = UInt8(ascii: ":")
        put(milliseconds / 1000 % 60, 2, at: 17)
        bytes[offset + 19] = UInt8(ascii: ".")
        put(milliseconds % 1000, 3, at: 20)
        bytes[offset + 23] = UInt8(ascii: "Z")
    }

    public static func parse(_ text: String) -> Date? {
        if let date = try? self.withFraction.parse(text) { return date }
        return try? self.withoutFraction.parse(text)
    }
}
