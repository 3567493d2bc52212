import ArgumentParser
import GatehouseCLI
import Testing

@Suite struct CLIParsingTests {
    @Test func parsesPing() throws {
        let command = try GatehouseCommand.parseAsRoot(["ping", "--service", "identity", "--timeout", "0.5", "--nats", "nats://127.0.0.1:1"])
        #expect(command is any AsyncParsableCommand)
    }

    @Test func rejectsABadTenant() {
        #expect(throws: (any Error).self) { try GatehouseCommand.parseAsRoot(["events", "--tenant", "acme"]) }
    }

    @Test func rejectsUnknownSubcommands() {
        #expect(throws: (any Error).self) { try GatehouseCommand.parseAsRoot(["frobnicate"]) }
    }
}
