/// Why a message was refused, and what (if anything) to answer.
public struct SIPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Base: String, Sendable, Hashable {
            case tooLarge, malformedStartLine, unsupportedVersion, malformedHeader, malformedContentLength
            case truncatedBody, malformedRequestURI, tooManyHeaders, invalidUTF8
        }

        let base: Base
        public var description: String { self.base.rawValue }

        public static let tooLarge = Code(base: .tooLarge)
        public static let malformedStartLine = Code(base: .malformedStartLine)
        public static let unsupportedVersion = Code(base: .unsupportedVersion)
        public static let malformedHeader = Code(base: .malformedHeader)
        public static let malformedContentLength = Code(base: .malformedContentLength)
        public static let truncatedBody = Code(base: .truncatedBody)
        public static let malformedRequestURI = Code(base: .malformedRequestURI)
        public static let tooManyHeaders = Code(base: .tooManyHeaders)
        public static let invalidUTF8 = Code(base: .invalidUTF8)
    }

    public var code: Code
    /// Whether the bytes looked like a request (only requests are answered).
    public var isRequest: Bool
    /// The header fields read before the error, so a response can copy Via, From, To, Call-ID
    /// and CSeq (RFC 3261 §8.2.6.2).
    public var headers: SIPHeaders
    /// A short, non-sensitive explanation, sent as the reason phrase detail in a Warning.
    public var detail: String

    /// The status to answer a request with: 505 for a version other than SIP/2.0, 513 for a
    /// message over the size limit, 400 otherwise. Responses are never answered.
    public var status: Int? {
        guard self.isRequest else { return nil }
        switch self.code {
        case .unsupportedVersion: return 505
        case .tooLarge: return 513
        default: return 400
        }
    }

    public var description: String { "\(self.code): \(self.detail)" }
}

/// Reads RFC 3261 messages from bytes: datagrams whole, streams framed by Content-Length.
///
/// Every limit is explicit (``Limits``); anything over one is an error, never a crash or an
/// unbounded buffer.
public struct SIPParser: Sendable {
    public struct Limits: Sendable, Hashable {
        /// Largest message, start line to the end of the body.
        public var messageBytes: Int
        /// Largest header section.
        public var headerBytes: Int
        /// Most header fields (continuation lines count with their field).
        public var headerFields: Int

        public init(messageBytes: Int = 65_535, headerBytes: Int = 32_768, headerFields: Int = 256) {
            self.messageBytes = messageBytes
            self.headerBytes = headerBytes
            self.headerFields = headerFields
        }
    }

    public var limits: Limits

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// One UDP datagram: a message, with Content-Length (when present) deciding where its body
    /// ends; octets after it are ignored (RFC 4475 §3.1.1.8), a shorter body is an error
    /// (RFC 3261 §18.3).
    public func parse(datagram: some Collection<UInt8>) throws(SIPParseError) -> SIPMessage {
        let bytes = Array(datagram)
        guard bytes.count <= self.limits.messageBytes else {
            throw SIPParseError(
                code: .tooLarge,
                isRequest: SIPParser.looksLikeRequest(bytes),
                headers: SIPHeaders(),
                detail: "message over \(self.limits.messageBytes) bytes"
            )
        }
        var start = 0
        while start + 1 < bytes.count, bytes[start] == 0x0D || bytes[start] == 0x0A { start += 1 }
        guard let (headerEnd, bodyStart) = SIPParser.headerSectionEnd(bytes, from: start) else {
            throw SIPParseError(
                code: .malformedHeader,
                isRequest: SIPParser.looksLikeRequest(bytes[start...]),
                headers: SIPHeaders(),
                detail: "no empty line after the header fields"
            )
        }
        return try self.parseMessage(bytes, start: start, headerEnd: headerEnd, bodyStart: bodyStart, stream: false)
    }

    /// What ``frame(_:)`` found at the start of a stream buffer.
    public enum Frame: Sendable, Hashable {
        /// Not enough bytes yet.
        case needMore
        /// A keep-alive: a double CRLF "ping" (answer with one CRLF "pong", RFC 5626 §3.5.1), or a
        /// single CRLF (a pong, or padding between messages) to drop.
        case keepAlive(consumed: Int, ping: Bool)
        /// A whole message of that many bytes.
        case message(SIPMessage, consumed: Int)
    }

    /// Frames the next message of a TCP, TLS or WebSocket stream. A stream without Content-Length
    /// cannot be framed and is an error (the connection must then be closed).
    public func frame(_ buffer: [UInt8]) throws(SIPParseError) -> Frame {
        if buffer.first == 0x0D || buffer.first == 0x0A {
            if buffer.starts(with: [0x0D, 0x0A, 0x0D, 0x0A]) { return .keepAlive(consumed: 4, ping: true) }
            if buffer.starts(with: [0x0D, 0x0A]) {
                // Two more bytes tell a ping from a pong.
                if buffer.count == 2 || (buffer.count == 3 && buffer[2] == 0x0D) { return .needMore }
                return .keepAlive(consumed: 2, ping: false)
            }
            if buffer.count == 1, buffer[0] == 0x0D { return .needMore }
            return .keepAlive(consumed: 1, ping: false)
        }
        guard let (headerEnd, bodyStart) = SIPParser.headerSectionEnd(buffer, from: 0) else {
            guard buffer.count <= self.limits.headerBytes else {
                throw SIPParseError(
                    code: .tooLarge,
                    isRequest: SIPParser.looksLikeRequest(buffer),
                    headers: SIPHeaders(),
                    detail: "header section over \(self.limits.headerBytes) bytes"
                )
            }
            return .needMore
        }
        // Content-Length decides the end; read it from the header section alone first.
        let lines = try self.headerLines(buffer, start: 0, end: headerEnd)
        let length = try SIPParser.contentLength(lines.headers, isRequest: lines.isRequest, required: true)
        let total = bodyStart + (length ?? 0)
        guard total <= self.limits.messageBytes else {
            throw SIPParseError(
                code: .tooLarge,
                isRequest: lines.isRequest,
                headers: lines.headers,
                detail: "message over \(self.limits.messageBytes) bytes"
            )
        }
        guard buffer.count >= total else { return .needMore }
        let message = try self.parseMessage(Array(buffer[0..<total]), start: 0, headerEnd: headerEnd, bodyStart: bodyStart, stream: true)
        return .message(message, consumed: total)
    }

    // MARK: - Internals

    struct Lines {
        var startLine: [UInt8]
        var headers: SIPHeaders
        var isRequest: Bool
    }

    /// Where the header section ends (the index of its final line break) and the body starts.
    static func headerSectionEnd(_ bytes: [UInt8], from start: Int) -> (Int, Int)? {
        var index = start
        while index < bytes.count {
            if bytes[index] == 0x0A {
                if index + 1 < bytes.count, bytes[index + 1] == 0x0A { return (index, index + 2) }
                if index + 2 < bytes.count, bytes[index + 1] == 0x0D, bytes[index + 2] == 0x0A { return (index, index + 3) }
            }
            index += 1
        }
        return nil
    }

    static func looksLikeRequest(_ bytes: some Collection<UInt8>) -> Bool { !bytes.starts(with: "SIP/".utf8) }

    func headerLines(_ bytes: [UInt8], start: Int, end: Int) throws(SIPParseError) -> Lines {
        let isRequest = SIPParser.looksLikeRequest(bytes[start...])
        guard end - start <= self.limits.headerBytes else {
            throw SIPParseError(
                code: .tooLarge,
                isRequest: isRequest,
                headers: SIPHeaders(),
                detail: "header section over \(self.limits.headerBytes) bytes"
            )
        }
        // Split at LF (a CR before it is dropped); fold continuation lines into their field.
        var lines: [ArraySlice<UInt8>] = []
        var lineStart = start
        for index in start..<end where bytes[index] == 0x0A {
            var lineEnd = index
            if lineEnd > lineStart, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            lines.append(bytes[lineStart..<lineEnd])
            lineStart = index + 1
        }
        var lastEnd = end
        if lastEnd > lineStart, bytes[lastEnd - 1] == 0x0D { lastEnd -= 1 }
        lines.append(bytes[lineStart..<lastEnd])
        guard let startLine = lines.first else {
            throw SIPParseError(code: .malformedStartLine, isRequest: isRequest, headers: SIPHeaders(), detail: "empty message")
        }
        var fields: [(name: ArraySlice<UInt8>, value: [UInt8])] = []
        var headers = SIPHeaders()
        for line in lines.dropFirst() {
            if let first = line.first, SIPCharacter.isWhitespace(first) {
                guard !fields.isEmpty else {
                    throw SIPParseError(code: .malformedHeader, isRequest: isRequest, headers: headers, detail: "continuation line before any header")
                }
                fields[fields.count - 1].value.append(UInt8(ascii: " "))
                fields[fields.count - 1].value.append(contentsOf: line.drop { SIPCharacter.isWhitespace($0) })
                continue
            }
            guard fields.count < self.limits.headerFields else {
                throw SIPParseError(
                    code: .tooManyHeaders,
                    isRequest: isRequest,
                    headers: headers,
                    detail: "more than \(self.limits.headerFields) header fields"
                )
            }
            var nameEnd = line.startIndex
            while nameEnd < line.endIndex, SIPCharacter.token[Int(line[nameEnd])] { nameEnd += 1 }
            var colon = nameEnd
            while colon < line.endIndex, SIPCharacter.isWhitespace(line[colon]) { colon += 1 }
            guard nameEnd > line.startIndex, colon < line.endIndex, line[colon] == UInt8(ascii: ":") else {
                throw SIPParseError(code: .malformedHeader, isRequest: isRequest, headers: headers, detail: "a header line without a name and colon")
            }
            fields.append((line[line.startIndex..<nameEnd], Array(line[(colon + 1)...])))
        }
        for field in fields {
            guard let name = String(validating: field.name, as: UTF8.self), let value = String(validating: field.value, as: UTF8.self) else {
                throw SIPParseError(code: .invalidUTF8, isRequest: isRequest, headers: headers, detail: "a header is not UTF-8")
            }
            headers.add(SIPHeaderName(name), SIPHeaders.trim(Array(value.utf8)[...]))
        }
        return Lines(startLine: Array(startLine), headers: headers, isRequest: isRequest)
    }

    /// The Content-Length, nil when absent; malformed, negative or repeated is an error
    /// (RFC 4475 §3.1.2.3, §3.3.9).
    static func contentLength(_ headers: SIPHeaders, isRequest: Bool, required: Bool) throws(SIPParseError) -> Int? {
        let values = headers.values(.contentLength)
        guard let value = values.first else {
            if required {
                throw SIPParseError(
                    code: .malformedContentLength,
                    isRequest: isRequest,
                    headers: headers,
                    detail: "Content-Length is required on a stream"
                )
            }
            return nil
        }
        var scanner = SIPScanner(value)
        guard values.count == 1, let length = scanner.number(maximum: 1 << 24), scanner.atEnd else {
            throw SIPParseError(
                code: .malformedContentLength,
                isRequest: isRequest,
                headers: headers,
                detail: "Content-Length must be one non-negative number"
            )
        }
        return Int(length)
    }

    func parseMessage(_ bytes: [UInt8], start: Int, headerEnd: Int, bodyStart: Int, stream: Bool) throws(SIPParseError) -> SIPMessage {
        let lines = try self.headerLines(bytes, start: start, end: headerEnd)
        let available = bytes.count - bodyStart
        let body: [UInt8]
        if let length = try SIPParser.contentLength(lines.headers, isRequest: lines.isRequest, required: stream) {
            guard length <= available else {
                throw SIPParseError(
                    code: .truncatedBody,
                    isRequest: lines.isRequest,
                    headers: lines.headers,
                    detail: "the body is shorter than Content-Length"
                )
            }
            body = Array(bytes[bodyStart..<(bodyStart + length)])
        } else {
            body = Array(bytes[bodyStart...])
        }
        return try SIPParser.startLine(lines, body: body)
    }

    static func startLine(_ lines: Lines, body: [UInt8]) throws(SIPParseError) -> SIPMessage {
        let line = lines.startLine
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        func fail(_ code: SIPParseError.Code, _ detail: String) -> SIPParseError {
            SIPParseError(code: code, isRequest: lines.isRequest, headers: lines.headers, detail: detail)
        }
        if !lines.isRequest {
            // SIP-Version SP Status-Code SP Reason-Phrase; the phrase may contain spaces or be empty.
            guard parts.count >= 3, parts[0].elementsEqual("SIP/2.0".utf8), parts[1].count == 3,
                parts[1].allSatisfy(SIPCharacter.isDigit), let status = Int(String(decoding: parts[1], as: UTF8.self)),
                (100...699).contains(status)
            else { throw fail(.malformedStartLine, "malformed status line") }
            let reasonBytes = line[(parts[0].count + parts[1].count + 2)...]
            guard let reason = String(validating: reasonBytes, as: UTF8.self), !reasonBytes.contains(where: { $0 < 0x20 && $0 != 0x09 }) else {
                throw fail(.invalidUTF8, "the reason phrase is not UTF-8 text")
            }
            return .response(SIPResponse(status: status, reason: reason, headers: lines.headers, body: body))
        }
        // Method SP Request-URI SP SIP-Version, single spaces only (RFC 4475 §3.1.2.9, §3.1.2.10).
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy({ SIPCharacter.token[Int($0)] }) else {
            throw fail(.malformedStartLine, "the request line must be: method, one space, URI, one space, version")
        }
        let version = parts[2]
        guard version.starts(with: "SIP/".utf8), version.count >= 7 else { throw fail(.malformedStartLine, "malformed SIP version") }
        guard version.elementsEqual("SIP/2.0".utf8) else { throw fail(.unsupportedVersion, "only SIP/2.0 is supported") }
        guard let uri = SIPURI(bytes: Array(parts[1])) else { throw fail(.malformedRequestURI, "malformed Request-URI") }
        let method = SIPMethod(String(decoding: parts[0], as: UTF8.self))
        return .request(SIPRequest(method: method, uri: uri, headers: lines.headers, body: body))
    }
}
