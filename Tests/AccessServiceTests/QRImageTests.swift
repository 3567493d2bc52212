import AccessService
import Foundation
import Testing

/// The QR images' encoders: a well-formed PNG (chunk CRCs, zlib checksum, size) and SVG.
struct QRImageTests {
    static func bigEndian(_ bytes: ArraySlice<UInt8>) -> UInt32 { bytes.reduce(0) { $0 << 8 | UInt32($1) } }

    @Test func pngChunksAndSizeAreWellFormed() throws {
        let symbol = try #require(QRSymbol("GH1:" + String(repeating: "A", count: 200)))
        let png = symbol.png(scale: 3)
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var offset = 8
        var types: [String] = []
        while offset < png.count {
            let length = Int(Self.bigEndian(png[offset..<(offset + 4)]))
            let body = Array(png[(offset + 4)..<(offset + 8 + length)])
            let crc = Self.bigEndian(png[(offset + 8 + length)..<(offset + 12 + length)])
            // CRC-32 of type and data, computed here bit by bit (independent of the encoder's table).
            var c: UInt32 = 0xFFFF_FFFF
            for byte in body {
                c ^= UInt32(byte)
                for _ in 0..<8 { c = c & 1 == 1 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
            }
            #expect(crc == c ^ 0xFFFF_FFFF)
            types.append(String(decoding: body.prefix(4), as: UTF8.self))
            if types.last == "IHDR" {
                let side = Int(Self.bigEndian(body[4..<8]))
                #expect(side == (symbol.size + 8) * 3 && Self.bigEndian(body[8..<12]) == UInt32(side))
                #expect(body[12] == 1 && body[13] == 0)  // 1-bit grayscale
            }
            offset += 12 + length
        }
        #expect(types == ["IHDR", "IDAT", "IEND"])
        #expect(symbol.size >= 21 && (symbol.size - 17) % 4 == 0)  // a QR version's side
    }

    @Test func svgScalesTheModulesAndRefusesWhatDoesNotFit() throws {
        let symbol = try #require(QRSymbol("GH1:abc"))
        #expect(symbol.svg.hasPrefix("<svg ") && symbol.svg.contains("viewBox=\"0 0 \(symbol.size + 8) \(symbol.size + 8)\""))
        #expect(QRSymbol(String(repeating: "x", count: 10_000)) == nil)
    }
}
