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
            (
                "events/io.gatehouse.identity.tenant_created.v1",
                try self.identityEvent(
                    TenantCreated(TenantDocument(id: tenant, slug: "demo", name: "Demo Properties", defaultTimeZone: "Europe/Berlin", version: 1))
                )
            ),
            (
                "events/io.gatehouse.identity.tenant_updated.v1",
                try self.identityEvent(
                    TenantUpdated(TenantDocument(id: tenant, slug: "demo", name: "Demo Estates", defaultTimeZone: "Europe/Berlin", version: 2))
                )
            ),
            (
                "events/io.gatehouse.identity.tenant_deleted.v1",
                try self.identityEvent(
                    TenantDeleted(TenantDocument(id: tenant, slug: "demo", name: "Demo Estates", defaultTimeZone: "Europe/Berlin", version: 2))
                )
            ),
            (
                "events/io.gatehouse.identity.site_created.v1",
                try self.identityEvent(
                    SiteCreated(
                        SiteDocument(id: site, name: "Demo Residences", timeZone: "Europe/Berlin", sipDomain: "demo.gatehouse.test", version: 1)
                    ),
                    context: EventContext(site: site)
                )
            ),
            (
                "events/io.gatehouse.identity.site_updated.v1",
                try self.identityEvent(
                    SiteUpdated(
                        SiteDocument(id: site, name: "Demo Residences", timeZone: "Europe/Berlin", sipDomain: "demo.gatehouse.test", version: 2)
                    ),
                    context: EventContext(site: site)
                )
            ),
            (
                "events/io.gatehouse.identity.building_created.v1",
                try self.identityEvent(
                    BuildingCreated(BuildingDocument(id: building, siteId: site, name: "Main", version: 1)),
                    context: EventContext(site: site, building: building)
                )
            ),
            (
                "events/io.gatehouse.identity.site_deleted.v1",
                try self.identityEvent(
                    SiteDeleted(
                        SiteDocument(id: site, name: "Demo Residences", timeZone: "Europe/Berlin", sipDomain: "demo.gatehouse.test", version: 2)
                    ),
                    context: EventContext(site: site)
                )
            ),
            (
                "events/io.gatehouse.identity.building_updated.v1",
                try self.identityEvent(
                    BuildingUpdated(BuildingDocument(id: building, siteId: site, name: "Main House", version: 2)),
                    context: EventContext(site: site, building: building)
                )
            ),
            (
                "events/io.gatehouse.identity.building_deleted.v1",
                try self.identityEvent(
                    BuildingDeleted(BuildingDocument(id: building, siteId: site, name: "Main House", version: 2)),
                    context: EventContext(site: site, building: building)
                )
            ),
            (
                "events/io.gatehouse.identity.unit_created.v1",
                try self.identityEvent(
                    UnitCreated(UnitDocument(id: unit, siteId: site, buildingId: building, dialNumber: "101", floor: "1", version: 1)),
                    context: EventContext(site: site, building: building, unit: unit)
                )
            ),
            (
                "events/io.gatehouse.identity.unit_updated.v1",
                try self.identityEvent(
                    UnitUpdated(UnitDocument(id: unit, siteId: site, buildingId: building, dialNumber: "101A", floor: nil, version: 2)),
                    context: EventContext(site: site, building: building, unit: unit)
                )
            ),
            (
                "events/io.gatehouse.identity.unit_deleted.v1",
                try self.identityEvent(
                    UnitDeleted(UnitDocument(id: unit, siteId: site, buildingId: building, dialNumber: "101A", floor: nil, version: 2)),
                    context: EventContext(site: site, building: building, unit: unit)
                )
            ),
            (
                "events/io.gatehouse.identity.door_created.v1",
                try self.identityEvent(
                    DoorCreated(DoorDocument(id: door, siteId: site, buildingId: nil, name: "Garage", kind: "gate", version: 1)),
                    context: EventContext(site: site, door: door)
                )
            ),
            (
                "events/io.gatehouse.identity.door_updated.v1",
                try self.identityEvent(
                    DoorUpdated(DoorDocument(id: door, siteId: site, buildingId: building, name: "Lobby", kind: "door", version: 2)),
                    context: EventContext(site: site, building: building, door: door)
                )
            ),
            (
                "events/io.gatehouse.identity.door_deleted.v1",
                try self.identityEvent(
                    DoorDeleted(DoorDocument(id: door, siteId: site, buildingId: building, name: "Lobby", kind: "door", version: 2)),
                    context: EventContext(site: site, building: building, door: door)
                )
            ),
            (
                "events/io.gatehouse.identity.device_created.v1",
                try self.identityEvent(DeviceCreated(self.deviceInfo), context: EventContext(site: site, door: door))
            ),
            (
                "events/io.gatehouse.identity.device_updated.v1",
                try self.identityEvent(DeviceUpdated(self.phoneInfo), context: EventContext(site: site, unit: unit, person: person))
            ),
            (
                "events/io.gatehouse.identity.device_revoked.v1",
                try self.identityEvent(DeviceRevoked(self.revokedPhone), context: EventContext(site: site, unit: unit, person: person))
            ),
            (
                "events/io.gatehouse.identity.person_created.v1",
                try self.identityEvent(PersonCreated(PersonDocument(id: person, kind: "resident", version: 1)), context: EventContext(person: person))
            ),
            (
                "events/io.gatehouse.identity.person_updated.v1",
                try self.identityEvent(
                    PersonUpdated(PersonDocument(id: person, kind: "staff", staffRole: "property-manager", version: 2)),
                    context: EventContext(person: person)
                )
            ),
            (
                "events/io.gatehouse.identity.import_completed.v1",
                try self.identityEvent(
                    ImportCompleted(
                        rows: 20,
                        sites: .init(created: 1, updated: 0),
                        buildings: .init(created: 1, updated: 0),
                        units: .init(created: 10, updated: 0),
                        people: .init(created: 10, updated: 0),
                        residences: .init(created: 10, updated: 0)
                    )
                )
            ),
            (
                "events/io.gatehouse.identity.api_key_created.v1",
                try self.identityEvent(APIKeyCreated(APIKeyDocument(id: self.apiKey, name: "CRM sync", domains: ["access", "signaling"])))
            ),
            (
                "events/io.gatehouse.identity.api_key_revoked.v1",
                try self.identityEvent(APIKeyRevoked(APIKeyDocument(id: self.apiKey, name: "CRM sync", domains: ["access", "signaling"])))
            ),
            (
                "events/io.gatehouse.identity.residency_updated.v1",
                try self.identityEvent(
                    ResidencyUpdated(ResidencyDocument(unitId: unit, personId: person, role: "owner")),
                    context: EventContext(unit: unit, person: person)
                )
            ),
            (
                "events/io.gatehouse.identity.residency_removed.v1",
                try self.identityEvent(
                    ResidencyRemoved(ResidencyDocument(unitId: unit, personId: person, role: "owner")),
                    context: EventContext(unit: unit, person: person)
                )
            ),
            ("rpc/ping.request", try WireCoding.encode(Ping(service: .identity))),
            ("rpc/ping.reply", try WireCoding.encode(RPCReply<PingReply>.result(self.pingReply))),
            ("rpc/identity.sip_digest.request", try WireCoding.encode(SIPDigestLookup(realm: "demo.gatehouse.test", username: "lobby"))),
            ("rpc/identity.sip_digest.reply", try WireCoding.encode(RPCReply<SIPAccount>.result(self.sipAccount))),
            ("rpc/identity.resolve_dial.request", try WireCoding.encode(ResolveDialTarget(sipDomain: "demo.gatehouse.test", dialled: "101"))),
            ("rpc/identity.resolve_dial.reply", try WireCoding.encode(RPCReply<DialPlan>.result(self.dialPlan))),
            ("rpc/identity.device.request", try WireCoding.encode(DeviceLookup(deviceId: self.door))),
            ("rpc/identity.device.reply", try WireCoding.encode(RPCReply<DeviceInfo>.result(self.deviceInfo))),
            ("rpc/identity.door.request", try WireCoding.encode(DoorLookup(doorId: self.door))),
            ("rpc/identity.door.reply", try WireCoding.encode(RPCReply<DoorInfo>.result(self.doorInfo))),
            ("rpc/identity.site.request", try WireCoding.encode(SiteLookup(siteId: site))),
            (
                "rpc/identity.site.reply",
                try WireCoding.encode(
                    RPCReply<SiteInfo>.result(
                        SiteInfo(id: site, tenantId: tenant, name: "Harbour View", timeZone: "Europe/Berlin", sipDomain: "demo.gatehouse.test")
                    )
                )
            ),
            (
                "rpc/access.unlock_door.request",
                try WireCoding.encode(UnlockDoor(doorId: self.door, personId: self.person, channel: .call, callId: self.call, deviceId: self.phone))
            ),
            (
                "rpc/access.unlock_door.reply",
                try WireCoding.encode(
                    RPCReply<UnlockResult>.result(UnlockResult(granted: true, reason: .resident, commandId: self.command, opened: true))
                )
            ),
            ("rpc/access.call_hours.request", try WireCoding.encode(CallHoursLookup(siteId: site))),
            (
                "rpc/access.call_hours.reply",
                try WireCoding.encode(RPCReply<CallHours>.result(CallHours(afterHours: true, unitsRingAfterHours: false)))
            ),
            (
                "rpc/access.present_credential.request",
                try WireCoding.encode(PresentCredential(doorId: self.door, pin: "482913", source: "lobby-keypad"))
            ),
            (
                "rpc/access.present_credential.reply",
                try WireCoding.encode(RPCReply<UnlockResult>.result(UnlockResult(granted: false, reason: .usesExhausted)))
            ),
            ("rpc/identity.person.request", try WireCoding.encode(PersonLookup(personId: self.person))),
            ("rpc/identity.person.reply", try WireCoding.encode(RPCReply<PersonInfo>.result(self.personInfo))),
            ("rpc/identity.introspect.request", try WireCoding.encode(IntrospectToken(token: "eyJhbGciOiJFZERTQSJ9.e30.c2ln"))),
            (
                "rpc/identity.introspect.reply",
                try WireCoding.encode(
                    RPCReply<TokenIntrospection>.result(
                        TokenIntrospection(
                            active: true,
                            tenantId: tenant,
                            subject: self.person.lowercasedString,
                            role: "resident",
                            expiresAt: time
                        )
                    )
                )
            ),
            (
                "events/io.gatehouse.signaling.device_registered.v1",
                try self.identityEvent(
                    DeviceRegistered(self.registration(bindings: 1, expiresAt: time.addingTimeInterval(600))),
                    context: EventContext(site: site, door: door),
                    source: EventSource(service: .signaling, instance: "signaling-1")
                )
            ),
            (
                "events/io.gatehouse.signaling.device_unregistered.v1",
                try self.identityEvent(
                    DeviceUnregistered(self.registration(bindings: 0, expiresAt: nil)),
                    context: EventContext(site: site, door: door),
                    source: EventSource(service: .signaling, instance: "signaling-1")
                )
            ),
            (
                "events/io.gatehouse.signaling.device_expired.v1",
                try self.identityEvent(
                    DeviceExpired(self.registration(bindings: 0, expiresAt: nil)),
                    context: EventContext(site: site, door: door),
                    source: EventSource(service: .signaling, instance: "signaling-1")
                )
            ),
            (
                "events/io.gatehouse.signaling.call_started.v1",
                try self.callEvent(CallStarted(callId: call, callerDeviceId: doorStation, dialled: "101"))
            ),
            ("events/io.gatehouse.signaling.call_ringing.v1", try self.callEvent(CallRinging(callId: call, step: 0, stepKind: .unit, devices: 2))),
            (
                "events/io.gatehouse.signaling.call_answered.v1",
                try self.callEvent(CallAnswered(callId: call, deviceId: phone, personId: person, step: 0), person: person)
            ),
            (
                "events/io.gatehouse.signaling.call_answered_externally.v1",
                try self.callEvent(CallAnsweredExternally(callId: call, number: "+493012345678", step: 2))
            ),
            (
                "events/io.gatehouse.signaling.call_fallback.v1",
                try self.callEvent(CallFallback(callId: call, fromStep: 0, toStep: 1, reason: .noAnswer))
            ),
            (
                "events/io.gatehouse.signaling.call_ended.v1",
                try self.callEvent(CallEnded(callId: call, reason: .completed, status: nil, durationSeconds: 42.5))
            ),
            (
                "events/io.gatehouse.access.decision_made.v1",
                try self.accessEvent(
                    AccessDecisionMade(doorId: door, granted: true, reason: .resident, channel: .call, personId: person, callId: call),
                    outcome: "granted",
                    reason: AccessReason.resident.rawValue
                )
            ),
            ("events/io.gatehouse.access.door_unlocked.v1", try self.accessEvent(DoorUnlocked(self.doorCommand), outcome: "opened")),
            (
                "events/io.gatehouse.access.door_command_failed.v1",
                try self.accessEvent(DoorCommandFailed(self.doorCommand, failure: .timeout), outcome: "failed", reason: "timeout")
            ),
            (
                "events/io.gatehouse.access.pass_created.v1",
                try self.accessEvent(PassCreated(self.passSummary), outcome: "created", pass: self.passID)
            ),
            (
                "events/io.gatehouse.access.pass_revoked.v1",
                try self.accessEvent(PassRevoked(passId: self.passID), outcome: "revoked", pass: self.passID)
            ),
            (
                "events/io.gatehouse.access.bruteforce_suspected.v1",
                try self.accessEvent(BruteForceSuspected(doorId: door, scope: "door", failures: 5, blockedSeconds: 30), outcome: "blocked")
            ),
            (
                "events/io.gatehouse.access.lockdown_changed.v1",
                try self.accessEvent(LockdownChanged(siteId: site, lockdown: true), outcome: "locked")
            ),
            (
                "events/io.gatehouse.access.credential_issued.v1",
                try self.accessEvent(
                    CredentialIssued(CredentialSummary(credentialId: self.command, personId: person, kind: "card")),
                    outcome: "issued"
                )
            ),
            (
                "events/io.gatehouse.access.credential_revoked.v1",
                try self.accessEvent(
                    CredentialRevoked(CredentialSummary(credentialId: self.command, personId: person, kind: "mobileKey")),
                    outcome: "revoked"
                )
            ),
            (
                "events/io.gatehouse.access.consent_changed.v1",
                try self.accessEvent(ConsentChanged(personId: person, consent: true), outcome: "given")
            ),
            (
                "events/io.gatehouse.access.policy_changed.v1",
                try self.accessEvent(PolicyChanged(siteId: site, object: "group", objectId: self.command, action: "created"), outcome: "created")
            ),
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

    static let site = UUID(uuidString: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")!
    static let building = UUID(uuidString: "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e")!
    static let unit = UUID(uuidString: "3c4d5e6f-7a8b-4c9d-8e1f-2a3b4c5d6e7f")!
    public static let person = UUID(uuidString: "0f1e2d3c-4b5a-4968-8776-655443322110")!
    public static let door = UUID(uuidString: "4d5e6f7a-8b9c-4d0e-9f2a-3b4c5d6e7f80")!
    static let doorStation = UUID(uuidString: "5e6f7a8b-9c0d-4e1f-8a3b-4c5d6e7f8091")!
    static let apiKey = UUID(uuidString: "7a8b9c0d-1e2f-4a3b-8c5d-6e7f8091a2b3")!
    static let phone = UUID(uuidString: "6f7a8b9c-0d1e-4f2a-9b4c-5d6e7f8091a2")!

    public static let sipAccount = SIPAccount(
        tenantId: tenant,
        siteId: site,
        deviceId: doorStation,
        kind: .doorStation,
        username: "lobby",
        realm: "demo.gatehouse.test",
        ha1MD5: String(repeating: "0f", count: 16),
        ha1SHA256: String(repeating: "a5", count: 32),
        doorId: door
    )

    public static let dialPlan = DialPlan(
        tenantId: tenant,
        siteId: site,
        buildingId: building,
        unitId: unit,
        dialNumber: "101",
        timeZone: "Europe/Berlin",
        steps: [
            RingStep(kind: .unit, ringSeconds: 30, targets: [RingTarget(deviceId: phone, sipUsername: "phone-101", personId: person)]),
            RingStep(kind: .external, ringSeconds: 20, targets: [RingTarget(number: "+4930123456")], hours: .afterHours),
        ]
    )

    public static let deviceInfo = DeviceInfo(
        id: doorStation,
        tenantId: tenant,
        siteId: site,
        kind: .doorStation,
        name: "Lobby door station",
        vendor: "2n",
        model: "IP Verso 2.0",
        doorId: door,
        sipUsername: "lobby",
        sipRealm: "demo.gatehouse.test",
        controlURL: "https://10.0.0.5",
        online: true,
        revoked: false
    )

    public static let personInfo = PersonInfo(
        id: person,
        tenantId: tenant,
        kind: "resident",
        residences: [.init(unitId: unit, siteId: site, buildingId: building, role: "owner")]
    )

    static let phoneInfo = DeviceInfo(
        id: phone,
        tenantId: tenant,
        siteId: site,
        kind: .sipPhone,
        name: "Phone 101",
        unitId: unit,
        personId: person,
        sipUsername: "phone-101",
        sipRealm: "demo.gatehouse.test",
        online: false,
        revoked: false,
        version: 2
    )

    static var revokedPhone: DeviceInfo {
        var device = phoneInfo
        device.revoked = true
        device.version = 3
        return device
    }

    /// An identity event with a fixed id derived from its type, so the sample's bytes are stable.
    static let call = UUID(uuidString: "8b9c0d1e-2f3a-4b4c-9d6e-7f8091a2b3c4")!

    /// A call event of the door station's call to unit 101.
    static let command = UUID(uuidString: "9c0d1e2f-3a4b-4c5d-8e7f-8091a2b3c4d5")!

    static let doorInfo = DoorInfo(
        id: door,
        tenantId: tenant,
        siteId: site,
        buildingId: building,
        name: "Main entrance",
        kind: "door",
        timeZone: "Europe/Berlin",
        stations: [.init(deviceId: doorStation, vendor: "2n", controlURL: "https://10.0.0.5", online: true)]
    )

    static let doorCommand = DoorCommandInfo(
        commandId: command,
        doorId: door,
        stationDeviceId: doorStation,
        adapter: "2n",
        relay: 1,
        channel: .call,
        personId: person,
        callId: call,
        elapsedMilliseconds: 84
    )

    static let passID = UUID(uuidString: "ad0e1f2a-3b4c-4d5e-8f70-8192a3b4c5d6")!

    static let passSummary = PassSummary(
        passId: passID,
        siteId: site,
        hostPersonId: person,
        kind: "guest",
        doorIds: [door],
        validFrom: time,
        validUntil: time.addingTimeInterval(86_400),
        maxUses: 3
    )

    static func accessEvent<E: GatehouseEventData>(_ data: E, outcome: String, reason: String? = nil, pass: UUID? = nil) throws -> Data {
        try self.identityEvent(
            data,
            context: EventContext(
                site: site,
                building: building,
                door: door,
                person: person,
                call: pass == nil ? call : nil,
                pass: pass,
                outcome: outcome,
                reason: reason
            ),
            source: EventSource(service: .access, instance: "access-1")
        )
    }

    static func callEvent<E: GatehouseEventData>(_ data: E, person: UUID? = nil) throws -> Data {
        try self.identityEvent(
            data,
            context: EventContext(site: site, door: door, unit: unit, person: person, call: call),
            source: EventSource(service: .signaling, instance: "signaling-1")
        )
    }

    static func registration(bindings: Int, expiresAt: Date?) -> DeviceRegistration {
        DeviceRegistration(
            deviceId: doorStation,
            siteId: site,
            kind: .doorStation,
            transport: "TLS",
            bindings: bindings,
            userAgent: "2N IP Verso 2.43",
            expiresAt: expiresAt
        )
    }

    static func identityEvent<E: GatehouseEventData>(
        _ data: E,
        context: EventContext = EventContext(),
        source: EventSource = source
    ) throws -> Data {
        var bytes = Array(E.eventType.type.utf8.reversed().prefix(16))
        while bytes.count < 16 { bytes.append(0) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let id = UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            )
        )
        return try WireCoding.encode(
            CloudEvent(id: id, source: source, time: time, subject: "\(E.eventType.name)/sample", tenant: tenant, context: context, data: data)
        )
    }

    public static let pingReply = PingReply(service: .identity, version: "1.0.0", instance: "identity-1", startedAt: time)

    /// A tenant-scoped example id, for docs and tests.
    public static var exampleTenant: TenantID { self.tenant }
}
