import Foundation
import Logging
import ServiceKit
import Testing

/// The JSON log line is valid JSON whatever the text holds, with the fixed fields first and the
/// metadata in key order.
struct JSONLogHandlerTests {
    @Test func linesAreJSONWithEveryCharacterEscaped() throws {
        let awkward = "quote \" backslash \\ newline \n tab \t bell \u{07} delete \u{7F} ümlaut 🚪 </script>"
        let line = JSONLogHandler.line(
            time: Date(timeIntervalSince1970: 1_795_000_000.125),
            level: .warning,
            label: "access",
            message: awkward,
            metadata: [
                "z.last": "1", "a.first": .stringConvertible(42), "gatehouse.list": .array(["x", .dictionary(["k": "v", "b": "c"])]),
                "message": "shadowed",
            ],
            source: "File.swift:7"
        )
        let text = String(decoding: line, as: UTF8.self)
        #expect(!text.contains("\n"))
        #expect(
            text.hasPrefix(#"{"time":"2026-11-18T11:06:40.125Z","level":"warning","logger":"access","message":"quote \" backslash \\"#),
            "\(text)"
        )
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        #expect(object["message"] as? String == awkward)
        #expect(object["a.first"] as? String == "42" && object["source"] as? String == "File.swift:7")
        let list = try #require(object["gatehouse.list"] as? [Any])
        #expect(list.first as? String == "x" && (list.last as? [String: String]) == ["b": "c", "k": "v"])
        // Metadata after the fixed fields, in byte order of the keys.
        let keys = ["\"a.first\"", "\"gatehouse.list\"", "\"source\"", "\"z.last\""].map { text.range(of: $0)!.lowerBound }
        #expect(keys == keys.sorted() && text.range(of: "\"message\"")!.lowerBound < keys[0])
    }
}
