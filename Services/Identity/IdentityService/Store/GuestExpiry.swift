package import Foundation
package import Logging
package import PostgresNIO
import ServiceLifecycle

/// Erases guests whose record ended (`expires_at`), so a guest's data lives no longer than the
/// invitation: every ``interval`` at most ``batch`` of them, each erased like any person
/// (`person_erased`; access then revokes what they held).
package struct GuestExpiry: Service {
    package static let interval = Duration.seconds(60)
    package static let batch = 500

    let people: PeopleStore
    let logger: Logger

    package init(client: PostgresClient, schema: String = IdentityService.schema, logger: Logger) {
        self.people = PeopleStore(client: client, schema: schema)
        self.logger = logger
    }

    /// Erases the guests whose record ended before `instant`; how many.
    package func sweep(now instant: Date = Date()) async throws -> Int {
        let expired = try await self.people.expiredGuests(before: instant, limit: Self.batch, logger: self.logger)
        for (tenant, person) in expired {
            _ = try await self.people.erase(tenant: tenant, id: person, logger: self.logger)
        }
        if !expired.isEmpty { self.logger.info("identity: expired guests erased", metadata: ["gatehouse.count": "\(expired.count)"]) }
        return expired.count
    }

    package func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                _ = try await self.sweep()
            } catch {
                self.logger.warning("identity: guest expiry failed; retrying", metadata: ["error.type": "\(error)"])
            }
            try? await Task.sleep(for: Self.interval)
        }
    }
}
