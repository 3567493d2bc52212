import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Host names in SIP targets (the outbound trunk, a dialog's Contact or Route) turned into
/// addresses: RFC 3263 §4.2 with an explicit or default port, through the system resolver's A and
/// AAAA records (NAPTR and SRV are not looked up). Lookups run on NIO's blocking thread pool, never
/// on the task pool; answers are kept for ``lifetime`` and failures for ``failureLifetime``.
final class SIPResolver: Sendable {
    struct Entry: Sendable {
        var addresses: [SocketAddress]
        var until: ContinuousClock.Instant
    }

    let lifetime: Duration
    let failureLifetime: Duration
    private let entries = Mutex<[String: Entry]>([:])
    /// Names kept at most (the table is emptied when full: a bound, not an eviction policy).
    static let capacity = 1_000

    init(lifetime: Duration = .seconds(60), failureLifetime: Duration = .seconds(10)) {
        self.lifetime = lifetime
        self.failureLifetime = failureLifetime
    }

    /// Whether `host` could be a DNS name (RFC 1123 labels); anything else is never looked up.
    static func isHostName(_ host: String) -> Bool {
        guard (1...253).contains(host.utf8.count) else { return false }
        return host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
                && label.utf8.allSatisfy { byte in
                    switch byte {
                    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                        UInt8(ascii: "-"):
                        true
                    default: false
                    }
                }
        }
    }

    /// The address of `host` at `port`: an IP address as is, a name by lookup (the first address of
    /// the family `family` when there is one, since a socket sends to its own family only); nil
    /// when it does not resolve.
    func resolve(host: String, port: Int, family: NIOBSDSocket.ProtocolFamily? = nil) async -> SocketAddress? {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if let address = try? SocketAddress(ipAddress: bare, port: port) { return address }
        guard Self.isHostName(bare) else { return nil }
        let key = bare.lowercased()
        let now = ContinuousClock.now
        let addresses: [SocketAddress]
        if let entry = self.entries.withLock({ $0[key] }), entry.until > now {
            addresses = entry.addresses
        } else {
            addresses = (try? await NIOThreadPool.singleton.runIfActive { Self.lookup(key) }) ?? []
            self.entries.withLock { entries in
                if entries.count >= Self.capacity { entries.removeAll() }
                entries[key] = Entry(addresses: addresses, until: now + (addresses.isEmpty ? self.failureLifetime : self.lifetime))
            }
        }
        guard var chosen = addresses.first(where: { family == nil || $0.protocol == family }) ?? addresses.first else { return nil }
        chosen.port = port
        return chosen
    }

    /// `getaddrinfo(3)`: the name's IPv4 and IPv6 addresses, in the resolver's order (blocks).
    static func lookup(_ host: String) -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            switch info.pointee.ai_family {
            case AF_INET:
                info.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { addresses.append(SocketAddress($0.pointee, host: host)) }
            case AF_INET6:
                info.pointee.ai_addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { addresses.append(SocketAddress($0.pointee, host: host)) }
            default:
                break
            }
            cursor = info.pointee.ai_next
        }
        return addresses
    }
}
