import Foundation

/// An RFC 4180 CSV reader: comma-separated fields, `"`-quoted fields that may hold commas, line
/// breaks and doubled quotes, CRLF or LF line ends. UTF-8 only (a leading BOM is skipped).
package struct CSVReader: Sendable {
    /// A malformed document: where and why.
    package struct Error: Swift.Error, Hashable, Sendable, CustomStringConvertible {
        package var line: Int
        package var reason: String
        package var description: String { "line \(self.line): \(self.reason)" }
    }

    /// One record and the line it starts on (1-based, counting the header).
    package struct Record: Hashable, Sendable {
        package var line: Int
        package var fields: [String]
    }

    /// Limits, so a hostile upload cannot exhaust memory.
    package var maxFieldBytes = 4096
    package var maxFields = 64

    package init() {}

    /// Parses the whole document; the first record is the header.
    package func parse(_ bytes: [UInt8]) throws(Error) -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var line = 1
        var recordLine = 1
        var inQuotes = false
        var fieldWasQuoted = false

        func endField() throws(Error) {
            guard let text = String(validating: field, as: UTF8.self) else {
                throw Error(line: line, reason: "not valid UTF-8")
            }
            fields.append(text)
            field.removeAll(keepingCapacity: true)
            fieldWasQuoted = false
            if fields.count > self.maxFields { throw Error(line: line, reason: "more than \(self.maxFields) fields") }
        }

        func endRecord() throws(Error) {
            try endField()
            if !(fields.count == 1 && fields[0].isEmpty) {  // blank lines are skipped
                records.append(Record(line: recordLine, fields: fields))
            }
            fields.removeAll(keepingCapacity: true)
        }

        while index < bytes.count {
            let byte = bytes[index]
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    if index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    field.append(byte)
                }
            } else {
                switch byte {
                case UInt8(ascii: ","):
                    try endField()
                case UInt8(ascii: "\r"):
                    break  // CR of CRLF; a lone CR is ignored too
                case UInt8(ascii: "\n"):
                    try endRecord()
                    line += 1
                    recordLine = line
                case UInt8(ascii: "\""):
                    guard field.isEmpty && !fieldWasQuoted else {
                        throw Error(line: line, reason: "a quote inside an unquoted field")
                    }
                    inQuotes = true
                    fieldWasQuoted = true
                default:
                    if fieldWasQuoted { throw Error(line: line, reason: "text after a closing quote") }
                    field.append(byte)
                }
            }
            if field.count > self.maxFieldBytes { throw Error(line: line, reason: "a field longer than \(self.maxFieldBytes) bytes") }
            index += 1
        }
        if inQuotes { throw Error(line: recordLine, reason: "a quoted field is not closed") }
        if !field.isEmpty || !fields.isEmpty || fieldWasQuoted { try endRecord() }
        return records
    }

    /// Quotes a field for output when it needs it.
    package static func escape(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
