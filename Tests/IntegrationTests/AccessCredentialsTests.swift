import AccessService
import DoorSimulator
import Foundation
import GatehouseAuth
import GatehouseNATS
import GatehouseWire
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IdentityService
import ServiceKit
import ServiceKitTesting
import Testing

/// People's own credentials (cards, plates, faces with consent, phones' mobile keys) and a site's
/// policies (access groups, holidays, exceptions, free access), set over access's admin API and
/// decided over NATS (`access.present_credential`) on real PostgreSQL, the door opened through the
/// simulator over HTTP.
extension SignalingRegistrarTests {
    func issue(_ client: any TestClientProtocol, _ context: Context, person: UUID, token: String, _ body: String) async throws -> (
        status: HTTPResponse.Status, json: [String: Any]
    ) {
        try await self.request(client, .post, "/v1/tenants/\(context.tenant)/people/\(person.lowercasedString)/credentials", token: token, body: body)
    }

    @Test func cardsPlatesFacesAndPhonesOpenDoorsUntilRevoked() async throws {
        try await withDoorSimulator { simulator, url in
            try await self.withSignaling(doorControlURL: url, access: true) { context in
                try await self.collectingEvents(context, domain: "access") { seen in
                    try await self.withAccessAPI(context) { client in
                        let admin = try self.token(.tenantAdmin, tenant: context.tenant)
                        let ada = try self.token(.resident, subject: context.ada.lowercasedString, tenant: context.tenant)
                        let door = context.door

                        // A Wiegand-26 card, issued as facility:number and read as the reader's 26 bits.
                        let card = try await self.issue(
                            client,
                            context,
                            person: context.ada,
                            token: admin,
                            #"{"kind": "card", "card": {"format": "wiegand26", "value": "12:3456"}, "label": "Fob"}"#
                        )
                        #expect(card.status == .created && card.json["kind"] as? String == "card" && card.json["card"] == nil)
                        let bits = CredentialValue.wiegandBits(facility: 12, number: 3456, length: 26)
                        let byCard = try await self.present(
                            context,
                            PresentCredential(doorId: door, card: CardRead(format: "wiegand26", value: bits))
                        )
                        #expect(byCard.granted && byCard.reason == .resident && byCard.opened)
                        // The same card twice is a conflict; a resident cannot issue cards to herself.
                        let twice = try await self.issue(
                            client,
                            context,
                            person: context.ada,
                            token: admin,
                            #"{"kind": "card", "card": {"format": "wiegand26", "value": "12:3456"}}"#
                        )
                        #expect(twice.status == .conflict)
                        let own = try await self.issue(
                            client,
                            context,
                            person: context.ada,
                            token: ada,
                            #"{"kind": "card", "card": {"format": "uid", "value": "04a23b1c"}}"#
                        )
                        #expect(own.status == .forbidden)
                        // An unknown card is a wrong credential.
                        let stranger = try await self.present(
                            context,
                            PresentCredential(doorId: door, card: CardRead(format: "wiegand26", value: "12:3457"))
                        )
                        #expect(stranger.reason == .invalidCredential)

                        // A plate, however the camera spaces it.
                        let plate = try await self.issue(
                            client,
                            context,
                            person: context.ada,
                            token: admin,
                            #"{"kind": "plate", "plate": "B-GH 101"}"#
                        )
                        #expect(plate.status == .created)
                        #expect(try await self.present(context, PresentCredential(doorId: door, plate: "bgh101")).granted)

                        // A face needs recorded consent: refused before, granted after, refused once withdrawn.
                        let noConsent = try await self.issue(
                            client,
                            context,
                            person: context.ada,
                            token: admin,
                            #"{"kind": "face", "templateId": "tpl-ada-1"}"#
                        )
                        #expect(noConsent.status == .conflict && noConsent.json["type"] as? String == "urn:gatehouse:problem:consent-required")
                        let consentPath = "/v1/tenants/\(context.tenant)/people/\(context.ada.lowercasedString)/biometric-consent"
                        #expect(
                            try await self.request(client, .put, consentPath, token: ada, body: #"{"evidence": "app consent screen v3"}"#).status
                                == .noContent
                        )
                        #expect(try await self.request(client, .get, consentPath, token: ada).json["consent"] as? Bool == true)
                        let face = try await self.issue(
                            client,
                            context,
                            person: context.ada,
                            token: admin,
                            #"{"kind": "face", "templateId": "tpl-ada-1"}"#
                        )
                        #expect(face.status == .created)
                        #expect(
                            try await self.present(context, PresentCredential(doorId: door, face: FaceMatch(templateId: "tpl-ada-1"))).reason
                                == .resident
                        )
                        #expect(try await self.request(client, .delete, consentPath, token: ada).status == .noContent)
                        #expect(
                            try await self.present(context, PresentCredential(doorId: door, face: FaceMatch(templateId: "tpl-ada-1"))).reason
                                == .noConsent
                        )

                        // Ada registers her phone's key herself; its signed request opens the door once.
                        let phone = MobileKeySigner()
                        let key = try await self.issue(
                            client,
                            context,
                            person: context.ada,
                            token: ada,
                            #"{"kind": "mobileKey", "publicKey": "\#(phone.publicKeyBase64)", "label": "Pixel"}"#
                        )
                        #expect(key.status == .created)
                        let keyID = try #require((key.json["id"] as? String).flatMap(UUID.init(uuidString:)))
                        let proof = phone.proof(credential: keyID, tenant: context.tenant, door: door)
                        #expect(try await self.present(context, PresentCredential(doorId: door, mobileKey: proof)).reason == .resident)
                        // Replayed, stale, or signed by another phone: refused.
                        #expect(try await self.present(context, PresentCredential(doorId: door, mobileKey: proof)).reason == .invalidCredential)
                        let stale = phone.proof(credential: keyID, tenant: context.tenant, door: door, at: Date().addingTimeInterval(-60))
                        #expect(try await self.present(context, PresentCredential(doorId: door, mobileKey: stale)).reason == .invalidTime)
                        let forged = MobileKeySigner().proof(credential: keyID, tenant: context.tenant, door: door)
                        #expect(try await self.present(context, PresentCredential(doorId: door, mobileKey: forged)).reason == .invalidCredential)

                        // A resident PIN of the site's length, shown once.
                        let site = try #require(try await context.commander?.door(tenant: context.tenant, id: door)).siteId
                        let pinCredential = try await self.issue(
                            client,
                            context,
                            person: context.ada,
                            token: admin,
                            #"{"kind": "pin", "siteId": "\#(site.lowercasedString)"}"#
                        )
                        let pin = try #require(pinCredential.json["pin"] as? String)
                        #expect(pinCredential.status == .created && pin.count == 6)
                        #expect(try await self.present(context, door: door, pin: pin).reason == .resident)

                        // Revoked at once.
                        let cardID = try #require(card.json["id"] as? String)
                        let cardPath = "/v1/tenants/\(context.tenant)/people/\(context.ada.lowercasedString)/credentials/\(cardID)"
                        #expect(try await self.request(client, .delete, cardPath, token: ada).status == .forbidden)
                        #expect(try await self.request(client, .delete, cardPath, token: admin).status == .noContent)
                        #expect(
                            try await self.present(context, PresentCredential(doorId: door, card: CardRead(format: "wiegand26", value: bits))).reason
                                == .revoked
                        )

                        // Listed without values; another tenant's administrator finds no such person.
                        let listed = try await self.request(
                            client,
                            .get,
                            "/v1/tenants/\(context.tenant)/people/\(context.ada.lowercasedString)/credentials",
                            token: ada
                        )
                        let kinds = (listed.json["credentials"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
                        #expect(kinds.sorted() == ["card", "face", "mobileKey", "pin", "plate"])
                        let other = TenantID(UUID())
                        let foreign = try await self.request(
                            client,
                            .get,
                            "/v1/tenants/\(other)/people/\(context.ada.lowercasedString)/credentials",
                            token: try self.token(.tenantAdmin, tenant: other)
                        )
                        #expect(foreign.status == .notFound)
                        // Exactly one credential per presentation.
                        await #expect(throws: WireError.self) {
                            try await self.present(context, PresentCredential(doorId: door, pin: "123456", plate: "BGH101"))
                        }
                        #expect(simulator.triggers.count == 5)
                    }
                    // The audit trail: issued and revoked credentials, consent given and withdrawn, every decision.
                    // (Eleven presentations, eleven decisions: the one with two credentials was refused unread.)
                    #expect(
                        try await eventually {
                            seen.withLock { seen in
                                seen.filter { $0.subject.hasSuffix(".credential_revoked") }.count == 2
                                    && seen.filter { $0.subject.hasSuffix(".decision_made") }.count >= 11
                            }
                        }
                    )
                    let messages = seen.withLock { $0 }
                    let consents = try messages.filter { $0.subject.hasSuffix(".consent_changed") }.map {
                        try WireCoding.decode(CloudEvent<ConsentChanged>.self, from: Data($0.payload)).data.consent
                    }
                    #expect(consents == [true, false])
                    #expect(messages.filter { $0.subject.hasSuffix(".credential_issued") }.count == 5)
                    // Withdrawing consent revoked the face; the card was revoked by hand.
                    let revoked = try messages.filter { $0.subject.hasSuffix(".credential_revoked") }.map {
                        try WireCoding.decode(CloudEvent<CredentialRevoked>.self, from: Data($0.payload)).data.credential.kind
                    }
                    #expect(revoked == ["face", "card"])
                    #expect(messages.filter { $0.subject.hasSuffix(".decision_made") }.count == 11)
                }
            }
        }
    }

    @Test func accessGroupsHolidaysExceptionsAndFreeAccessDecideThroughTheAPI() async throws {
        try await withDoorSimulator { _, url in
            try await self.withSignaling(doorControlURL: url, access: true) { context in
                try await self.withAccessAPI(context) { client in
                    let admin = try self.token(.tenantAdmin, tenant: context.tenant)
                    let door = context.door
                    let info = try #require(try await context.commander?.door(tenant: context.tenant, id: door))
                    let site = info.siteId.lowercasedString
                    // Carl cleans: he lives nowhere here, so his card opens nothing on his own authority.
                    let carl = try await PeopleStore(client: context.postgres).create(
                        tenant: context.tenant,
                        PersonInput(kind: .resident, displayName: "Carl"),
                        logger: self.logger
                    ).id
                    let card = try await self.issue(
                        client,
                        context,
                        person: carl,
                        token: admin,
                        #"{"kind": "card", "card": {"format": "uid", "value": "04:11:22:33"}}"#
                    )
                    #expect(card.status == .created)
                    let carlCard = PresentCredential(doorId: door, card: CardRead(format: "uid", value: "04112233"))
                    #expect(try await self.present(context, carlCard).reason == .noAuthority)

                    // The cleaners' group: the door, every day. Carl joins: granted.
                    let base = "/v1/tenants/\(context.tenant)/sites/\(site)"
                    let everyDay = #"[{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "from": "00:00", "to": "00:00"}]"#
                    let group = try await self.request(
                        client,
                        .post,
                        "\(base)/access-groups",
                        token: admin,
                        body: #"{"name": "Cleaners", "doorIds": ["\#(door.lowercasedString)"], "schedule": \#(everyDay)}"#
                    )
                    #expect(group.status == .created)
                    let groupID = try #require(group.json["id"] as? String)
                    let member = "\(base)/access-groups/\(groupID)/members/\(carl.lowercasedString)"
                    #expect(try await self.request(client, .put, member, token: admin).status == .noContent)
                    #expect(try await self.present(context, carlCard).reason == .group)

                    // Holidays only: refused today, granted once today is a holiday of the site.
                    let holidaysOnly = #"[{"days": ["hol"], "from": "00:00", "to": "00:00"}]"#
                    let updated = try await self.request(
                        client,
                        .put,
                        "\(base)/access-groups/\(groupID)",
                        token: admin,
                        body: #"{"name": "Cleaners", "doorIds": ["\#(door.lowercasedString)"], "schedule": \#(holidaysOnly)}"#
                    )
                    #expect(updated.status == .ok)
                    #expect(try await self.present(context, carlCard).reason == .invalidTime)
                    var calendar = Calendar(identifier: .gregorian)
                    calendar.timeZone = TimeZone(identifier: info.timeZone)!
                    let today = calendar.dateComponents([.year, .month, .day], from: Date())
                    let date = String(format: "%04d-%02d-%02d", today.year!, today.month!, today.day!)
                    let holidays = try await self.request(
                        client,
                        .put,
                        "\(base)/holidays",
                        token: admin,
                        body: #"{"holidays": [{"date": "\#(date)", "name": "Founders' Day"}]}"#
                    )
                    #expect(holidays.status == .ok)
                    #expect(try await self.present(context, carlCard).reason == .group)
                    let badDate = try await self.request(
                        client,
                        .put,
                        "\(base)/holidays",
                        token: admin,
                        body: #"{"holidays": [{"date": "2026-02-30", "name": "x"}]}"#
                    )
                    #expect(badDate.status == .badRequest)

                    // The door locked for the painters: residents are refused (apLocked), and again
                    // admitted once the exception is gone.
                    let adaToken = try self.token(.resident, subject: context.ada.lowercasedString, tenant: context.tenant)
                    let unlock = "/v1/tenants/\(context.tenant)/doors/\(door.lowercasedString)/unlock"
                    let from = WireCoding.format(Date().addingTimeInterval(-60))
                    let until = WireCoding.format(Date().addingTimeInterval(3600))
                    let exception = try await self.request(
                        client,
                        .post,
                        "\(base)/door-exceptions",
                        token: admin,
                        body:
                            #"{"doorId": "\#(door.lowercasedString)", "startsAt": "\#(from)", "endsAt": "\#(until)", "mode": "locked", "note": "painting"}"#
                    )
                    #expect(exception.status == .created)
                    let lockedOut = try await self.request(client, .post, unlock, token: adaToken)
                    #expect(lockedOut.status == .forbidden && lockedOut.json["reason"] as? String == "apLocked")
                    let exceptionID = try #require(exception.json["id"] as? String)
                    #expect(try await self.request(client, .delete, "\(base)/door-exceptions/\(exceptionID)", token: admin).status == .noContent)
                    #expect(try await self.request(client, .post, unlock, token: adaToken).status == .ok)

                    // Free access every day (today no longer a holiday: on a holiday only "hol" windows
                    // apply): Carl, out of the group, is let in; the door's hours closed for residents
                    // (holidays only) refuse Ada.
                    _ = try await self.request(client, .put, "\(base)/holidays", token: admin, body: #"{"holidays": []}"#)
                    #expect(try await self.request(client, .delete, member, token: admin).status == .noContent)
                    #expect(try await self.present(context, carlCard).reason == .noAuthority)
                    let policy = "/v1/tenants/\(context.tenant)/doors/\(door.lowercasedString)/policy"
                    let free = try await self.request(client, .put, policy, token: admin, body: #"{"freeAccess": \#(everyDay)}"#)
                    #expect(free.status == .ok && free.json["timeZone"] as? String == info.timeZone)
                    #expect(try await self.present(context, carlCard).reason == .freeAccess)
                    let hours = try await self.request(client, .put, policy, token: admin, body: #"{"hours": \#(holidaysOnly), "freeAccess": null}"#)
                    #expect(hours.status == .ok)
                    let closed = try await self.request(client, .post, unlock, token: adaToken)
                    #expect(closed.status == .forbidden && closed.json["reason"] as? String == "invalidTime")
                    #expect(try await self.request(client, .post, unlock, token: admin).status == .ok)

                    // Bad policies are refused with every problem named; another tenant sees no door.
                    let bad = try await self.request(
                        client,
                        .put,
                        policy,
                        token: admin,
                        body: #"{"hours": [{"days": ["xmas"], "from": "08:00", "to": "09:00"}], "colour": 1}"#
                    )
                    #expect(bad.status == .badRequest && (bad.json["errors"] as? [[String: Any]])?.count == 2)
                    let other = TenantID(UUID())
                    let foreign = try await self.request(
                        client,
                        .get,
                        "/v1/tenants/\(other)/doors/\(door.lowercasedString)/policy",
                        token: try self.token(.tenantAdmin, tenant: other)
                    )
                    #expect(foreign.status == .notFound)
                    // A site the tenant does not have is a 404 (identity says so), for policies and settings alike.
                    let stranger = "/v1/tenants/\(context.tenant)/sites/\(UUID().uuidString.lowercased())"
                    #expect(try await self.request(client, .get, "\(stranger)/access-groups", token: admin).status == .notFound)
                    #expect(try await self.request(client, .get, "\(stranger)/access-settings", token: admin).status == .notFound)
                    // A site-wide exception in the site's wall-clock time.
                    let siteWide = try await self.request(
                        client,
                        .post,
                        "\(base)/door-exceptions",
                        token: admin,
                        body: #"{"startsAt": "2030-01-01T08:00", "endsAt": "2030-01-01T12:00", "mode": "open"}"#
                    )
                    #expect(siteWide.status == .created && siteWide.json["startsAt"] as? String == "2030-01-01T07:00:00.000Z")
                    // Only administrators configure policies.
                    #expect(try await self.request(client, .get, "\(base)/access-groups", token: adaToken).status == .forbidden)
                }
            }
        }
    }
}
