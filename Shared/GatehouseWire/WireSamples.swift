public import Foundation

/// One example of every wire payload, with fixed ids and times, so the bytes are reproducible.
///
/// The golden fixtures in `Tests/GatehouseWireTests/Fixtures` are these samples' encodings, and
/// `make test` validates them against `docs/schemas` (`gatehouse wire samples`). A new wire type
/// adds a sample here, a schema there, and a fixture.
public enum WireSamples {
    static let time = Date(timeIntervalSince1970: 1_795_000_000.125)
    static let tenant = TenantID("7c0e5a4e-3f0b-4b8e-9a55-2f1d6c2b9e10")!
    static let source = EventSource(service: .identity, instance: "identity-1")
    static let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    /// File name (without `.json`) → encoded sample.
    public static func all() throws -> [(name: String, json: Data)] {
        [
            ("events/io.gatehouse.system.service_started.v1", try WireCoding.encode(self.serviceStarted)),
            ("events/io.gatehouse.system.service_stopping.v1", try WireCoding.encode(self.serviceStopping)),
            ("events/io.gatehouse.audit.tenant_mismatch.v1", try WireCoding.encode(self.tenantMismatch)),
            ("events/io.gatehouse.system.probe.v1", try WireCoding.encode(self.probe)),
            ("events/io.gatehouse.audit.checkpoint_created.v1", try WireCoding.encode(self.checkpoint)),
            ("events/io.gatehouse.identity.person_erased.v1", try WireCoding.encode(self.personErased)),
            ("rpc/ping.request", try WireCoding.encode(Ping(service: .identity))),
            ("rpc/ping.reply", try WireCoding.encode(RPCReply<PingReply>.result(self.pingReply))),
            (
                "rpc/error.reply",
                try WireCoding.encode(
                    RPCReply<PingReply>.error(
                        WireError(code: .invalidRequest, message: "unit must not be empty", details: ["field": "unit"])
                    )
                )
            ),
        ]
    }

    public static let serviceStarted = CloudEvent(
        id: UUID(uuidString: "0b6c3c1e-9d7a-4f53-8a1e-5d2f0c9b7a61")!,
        source: source,
        time: time,
        subject: "service/identity",
        tenant: .operator,
        traceparent: traceparent,
        data: ServiceStarted(service: .identity, version: "1.0.0", instance: "identity-1")
    )

    public static let serviceStopping = CloudEvent(
        id: UUID(uuidString: "5f0d2b7e-1c3a-4e8f-9b6d-7a2c4e1f3b90")!,
        source: source,
        time: time,
        subject: "service/identity",
        tenant: .operator,
        data: ServiceStopping(service: .identity, instance: "identity-1", uptimeSeconds: 3600.5)
    )

    public static let tenantMismatch = CloudEvent(
        id: UUID(uuidString: "9a1f3e2d-4c5b-4a69-8e7f-1d2c3b4a5f60")!,
        source: EventSource(service: .audit, instance: "audit-1"),
        time: time,
        subject: "stream/GATEHOUSE_EVENTS/42",
        tenant: .operator,
        data: AuditTenantMismatch(
            natsSubject: "gatehouse.v1.evt.7c0e5a4e-3f0b-4b8e-9a55-2f1d6c2b9e10.access.door_unlocked",
            claimedTenant: "11111111-2222-4333-8444-555555555555",
            streamSequence: 42
        )
    )

    public static let probe = CloudEvent(
        id: UUID(uuidString: "c3d2e1f0-5a6b-4c7d-8e9f-0a1b2c3d4e5f")!,
        source: EventSource(service: "gatehouse-cli", instance: "ops-laptop"),
        time: time,
        subject: "probe/run-1",
        tenant: tenant,
        data: EventProbe(run: "run-1", number: 1)
    )

    public static let checkpoint = CloudEvent(
        id: UUID(uuidString: "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70")!,
        source: EventSource(service: .audit, instance: "audit-1"),
        time: time,
        subject: "chain/1000",
        tenant: tenant,
        data: AuditCheckpointCreated(
            fromSequence: 1,
            sequence: 1000,
            headHash: String(repeating: "ab", count: 32),
            merkleRoot: String(repeating: "cd", count: 32),
            signedAt: time,
            keyId: "0123456789abcdef",
            publicKey: "GbTeJhpB0ry6mB8B2f1ytqhnLDqVEl0F7jx3OBJjWLs=",
            signature: "c2lnbmF0dXJl"
        )
    )

    public static let personErased = CloudEvent(
        id: UUID(uuidString: "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a81")!,
        source: source,
        time: time,
        subject: "person/0f1e2d3c-4b5a-4968-8776-655443322110",
        tenant: tenant,
        context: EventContext(
            site: UUID(uuidString: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")!,
            person: UUID(uuidString: "0f1e2d3c-4b5a-4968-8776-655443322110")!,
            outcome: "erased"
        ),
        data: PersonErased(personId: UUID(uuidString: "0f1e2d3c-4b5a-4968-8776-655443322110")!, erasedAt: time)
    )

    public static let pingReply = PingReply(service: .identity, version: "1.0.0", instance: "identity-1", startedAt: time)

    /// A tenant-scoped example id, for docs and tests.
    public static var exampleTenant: TenantID { self.tenant }
}
