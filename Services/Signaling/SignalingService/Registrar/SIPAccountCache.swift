import Foundation
import GatehouseNATS
import GatehouseWire
import Logging
import ServiceKit
import ServiceLifecycle
import Synchronization

/// Identity's SIP accounts, kept for a short lifetime so a REGISTER or an INVITE does not ask
/// identity each time (decision 0011); unknown names are kept too, so a scan of made-up names does
/// not reach identity either. ``SIPAccountFeed`` forgets an account as soon as identity announces a
/// change to its device; the lifetime bounds what a lost announcement can leave behind.
final class SIPAccountCache: SIPAccountDirectory {
    struct Key: Hashable, Sendable {
        var realm: String
        var username: String
    }

    enum Entry: Sendable {
        case found(SIPAccount)
        case unknown
    }

    let directory: any SIPAccountDirectory
    private let cache: ExpiringCache<Key, Entry>
    private let forgets = Atomic<Int>(0)

    /// How many times an announcement made the cache forget something (for tests and metrics).
    var forgotten: Int { self.forgets.load(ordering: .relaxed) }

    /// Beyond `capacity` names the cache empties itself and refills.
    init(directory: any SIPAccountDirectory, lifetime: Duration, capacity: Int = 100_000) {
        self.directory = directory
        self.cache = ExpiringCache(lifetime: lifetime, capacity: capacity)
    }

    func account(realm: String, username: String) async throws -> SIPAccount? {
        let key = Key(realm: realm.lowercased(), username: username)
        let directory = self.directory
        let entry = try await self.cache.value(key) {
            try await directory.account(realm: key.realm, username: key.username).map(Entry.found) ?? .unknown
        }
        guard case .found(let account) = entry else { return nil }
        return account
    }

    /// Forgets one account (its device changed).
    func forget(realm: String, username: String) {
        self.cache.remove(Key(realm: realm.lowercased(), username: username))
        self.forgets.add(1, ordering: .relaxed)
    }

    /// Forgets every account (a site's domain may have changed, or announcements were missed).
    func forgetAll() {
        self.cache.removeAll()
        self.forgets.add(1, ordering: .relaxed)
    }
}

/// Reads identity's device and site announcements (`gatehouse.v1.evt.*.identity.>`) and makes the
/// account cache forget what they change. Resubscribes after a failure, forgetting everything
/// first, since announcements may have been missed meanwhile.
struct SIPAccountFeed: Service {
    let nats: NATSClient
    let cache: SIPAccountCache?
    /// Its ring plans are forgotten on every identity announcement.
    let router: CallRouter?
    let logger: Logger

    func run() async throws {
        var backoff = Duration.milliseconds(200)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let events = try await self.nats.subscribe(to: "gatehouse.v1.evt.*.\(ServiceName.identity).>")
                self.cache?.forgetAll()
                self.router?.forgetPlans()
                backoff = .milliseconds(200)
                for await message in events.cancelOnGracefulShutdown() {
                    self.apply(subject: message.subject, payload: Data(message.payload))
                }
            } catch {
                self.logger.warning("sip: identity's announcements could not be read; retrying", metadata: ["error.type": "\(error)"])
            }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(10))
        }
    }

    func apply(subject: String, payload: Data) {
        self.router?.forgetPlans()
        guard let cache = self.cache, let name = subject.split(separator: ".").last else { return }
        let device: DeviceInfo?
        switch name {
        case Substring(DeviceCreated.eventType.name): device = try? WireCoding.decode(CloudEvent<DeviceCreated>.self, from: payload).data.resource
        case Substring(DeviceUpdated.eventType.name): device = try? WireCoding.decode(CloudEvent<DeviceUpdated>.self, from: payload).data.resource
        case Substring(DeviceRevoked.eventType.name): device = try? WireCoding.decode(CloudEvent<DeviceRevoked>.self, from: payload).data.resource
        case Substring(SiteUpdated.eventType.name), Substring(PersonErased.eventType.name):
            // A site's domain may have changed; an erased person's devices lost their credentials.
            cache.forgetAll()
            return
        default:
            return
        }
        // An announcement that cannot be read may still have changed an account.
        guard let device else { return cache.forgetAll() }
        cache.forget(realm: device.sipRealm, username: device.sipUsername)
    }
}
