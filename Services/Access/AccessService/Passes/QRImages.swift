import CQRencode

/// A visitor pass's QR code as an image (libqrencode makes the symbol; the SVG and PNG encoders are
/// ours): error correction M, a 4-module quiet zone, black on white.
package struct QRSymbol: Sendable {
    /// Modules per side, and whether each (row-major) is dark.
    package let size: Int
    let dark: [Bool]

    /// The symbol for `text` (8-bit mode), or `nil` when libqrencode refuses it (too long).
    package init?(_ text: String) {
        guard let code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else { return nil }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        self.size = width
        self.dark = (0..<(width * width)).map { code.pointee.data[$0] & 1 == 1 }
    }

    static let quietZone = 4
    /// Pixels per module the PNG may use.
    package static let scales = 1...16

    func isDark(_ x: Int, _ y: Int) -> Bool {
        let q = Self.quietZone
        guard x >= q, y >= q, x < self.size + q, y < self.size + q else { return false }
        return self.dark[(y - q) * self.size + (x - q)]
    }

    /// SVG: one path of unit squares in a viewBox of modules, so it scales without blur.
    package var svg: String {
        let side = self.size + 2 * Self.quietZone
        var path = ""
        for y in 0..<side {
            for x in 0..<side where self.isDark(x, y) { path += "M\(x) \(y)h1v1h-1z" }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(side) \(side)" shape-rendering="crispEdges">\
            <rect width="\(side)" height="\(side)" fill="#fff"/><path d="\(path)" fill="#000"/></svg>
            """
    }

    /// PNG: 1-bit grayscale, `scale` pixels per module, stored (uncompressed) deflate blocks.
    package func png(scale: Int) -> [UInt8] {
        let pixels = (self.size + 2 * Self.quietZone) * scale
        let rowBytes = (pixels + 7) / 8
        var raw: [UInt8] = []
        raw.reserveCapacity((rowBytes + 1) * pixels)
        for py in 0..<pixels {
            raw.append(0)  // filter: none
            var row = [UInt8](repeating: 0, count: rowBytes)
            for px in 0..<pixels where !self.isDark(px / scale, py / scale) {
                row[px / 8] |= 0x80 >> UInt8(px % 8)  // 1 = white
            }
            raw += row
        }
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header: [UInt8] = []
        header += Self.bigEndian(UInt32(pixels))
        header += Self.bigEndian(UInt32(pixels))
        header += [1, 0, 0, 0, 0]  // bit depth 1, grayscale, deflate, no filter variants, no interlace
        png += Self.chunk("IHDR", header)
        png += Self.chunk("IDAT", Self.zlibStored(raw))
        png += Self.chunk("IEND", [])
        return png
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return Self.bigEndian(UInt32(data.count)) + body + Self.bigEndian(Self.crc32(body))
    }

    /// zlib (RFC 1950) around stored deflate blocks (RFC 1951 §3.2.4).
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65_535, data.count - offset)
            let final: UInt8 = offset + length == data.count ? 1 : 0
            out.append(final)
            out += [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)]
            out += data[offset..<(offset + length)]
            offset += length
        } while offset < data.count
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return out + Self.bigEndian(b << 16 | a)
    }

    static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes { c = Self.crcTable[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
