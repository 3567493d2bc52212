import ArgumentParser
import Foundation
import GatehouseNATS
import GatehouseWire
import ServiceKit

/// `gatehouse dial DOMAIN NUMBER`: what a call to NUMBER at the site with SIP domain DOMAIN rings,
/// as identity answers signaling (`identity.resolve_dial`): for support staff and for checking a
/// provisioning.
struct DialCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dial",
        abstract: "Show the ring plan identity gives signaling for a dialled number at a site."
    )

    @OptionGroup var nats: NATSOptions

    @Argument(help: "The site's SIP domain, e.g. demo.gatehouse.test.")
    var domain: String

    @Argument(help: "The dialled number, e.g. 101.")
    var number: String

    @Flag(help: "Print the plan as JSON.")
    var json = false

    func run() async throws {
        let request = ResolveDialTarget(sipDomain: self.domain, dialled: self.number)
        let json = self.json
        let plan = try await self.nats.withClient { client in
            try await MessageBus(transport: NATSTransport(client: client), source: EventSource(service: "gatehouse-cli", instance: "cli"))
                .request(request, timeout: .seconds(5))
        }
        if json {
            print(String(decoding: try WireCoding.encode(plan), as: UTF8.self))
            return
        }
        print("unit \(plan.dialNumber) (\(plan.unitId.lowercasedString)) of tenant \(plan.tenantId), site time zone \(plan.timeZone)")
        if plan.steps.isEmpty { print("  nothing to ring: no devices and no fallbacks") }
        for (index, step) in plan.steps.enumerated() {
            let targets = step.targets.map { target in
                target.number ?? "sip:\(target.sipUsername ?? "?")@\(self.domain)"
            }
            print("  \(index + 1). \(step.kind.rawValue), \(step.ringSeconds) s: \(targets.joined(separator: ", "))")
        }
    }
}
