// libFuzzer entry point for the SIP parser (`make fuzz`, scripts/fuzz.sh). Compiled by swiftc with
// the GatehouseSIP sources and `-sanitize=fuzzer,address`, outside SwiftPM's build graph so a normal
// `swift build` never needs libFuzzer's main.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSIPMessage(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    let parser = SIPParser(limits: .init(messageBytes: 65_535, headerBytes: 32_768, headerFields: 256))
    // Whole datagrams, and the same bytes as a stream.
    if let message = try? parser.parse(datagram: bytes) {
        exercise(message)
    }
    var buffer = bytes
    var rounds = 0
    while !buffer.isEmpty, rounds < 64 {
        rounds += 1
        guard let frame = try? parser.frame(buffer) else { break }
        switch frame {
        case .needMore: buffer.removeAll()
        case .keepAlive(let consumed, _): buffer.removeFirst(min(consumed, buffer.count))
        case .message(let message, let consumed):
            exercise(message)
            buffer.removeFirst(min(consumed, buffer.count))
        }
    }
    return 0
}

/// Everything signaling does with a message it accepted: typed views, checks, a response, and a
/// serialize → parse round trip that must succeed.
func exercise(_ message: SIPMessage) {
    let headers = message.headers
    _ = headers.vias
    _ = headers.to
    _ = headers.from
    _ = headers.cseq
    _ = headers.maxForwards
    _ = headers.expires
    for value in headers.values(.contact) { _ = SIPAddress(value) }
    for field in headers where field.name == .authorization { _ = SIPDigestCredentials(field.value) }
    switch message {
    case .request(let request):
        _ = request.syntaxProblem()
        _ = request.proxyProblem(supported: [])
        _ = request.registrarProblem(supported: [])
        _ = SIPMessage.response(SIPResponse(status: 400, replyingTo: request.headers, toTag: "fuzz")).serialized()
    case .response(let response):
        _ = response.isWellFormed
    }
    let bytes = message.serialized()
    guard (try? SIPParser(limits: .init(messageBytes: 1 << 20, headerBytes: 1 << 20, headerFields: 4096)).parse(datagram: bytes)) != nil else {
        fatalError("a serialized message did not parse back")
    }
}
