import Foundation
import ServiceKitTesting
import SignalingService
import Testing

/// baresip (Debian), a real SIP user agent, as the resident's phone.
extension SignalingRegistrarTests {
    /// A baresip configuration for `device` listening on `port`, answering calls by itself.
    func baresipConfiguration(_ context: Context, _ device: Device, port: Int) throws -> URL {
        let directory = context.directory.appendingPathComponent("baresip-\(device.username)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = """
            sip_listen 127.0.0.1:\(port)
            module_path /usr/lib/baresip/modules
            module g711.so
            module ausine.so
            module aufile.so
            module_app account.so
            module_app menu.so
            audio_source ausine,440
            audio_player aufile,\(directory.appendingPathComponent("heard.wav").path)
            audio_alert aufile,\(directory.appendingPathComponent("alert.wav").path)
            rtp_ports 40000-40100

            """
        try config.write(to: directory.appendingPathComponent("config"), atomically: true, encoding: .utf8)
        let account =
            "<sip:\(device.username)@\(context.domain)>;auth_pass=\(device.password);"
            + "outbound=\"sip:127.0.0.1:\(context.udpPort);transport=udp\";regint=300;answermode=auto\n"
        try account.write(to: directory.appendingPathComponent("accounts"), atomically: true, encoding: .utf8)
        return directory
    }

    @Test func baresipRegistersAsTheResidentsPhoneAndAnswersTheDoor() async throws {
        // The default challenge (MD5 alone): baresip 1.0 gives up on a 401 that also offers SHA-256.
        try await self.withSignaling { context in
            let port = Int.random(in: 30_000..<32_000)
            let directory = try self.baresipConfiguration(context, context.phone, port: port)
            let baresip = Task {
                try await runTool(try TestEnvironment.require("BARESIP_BIN"), ["-f", directory.path, "-t", "10", "-s"], timeout: .seconds(20))
            }
            #expect(
                try await eventually(timeout: .seconds(8)) {
                    try await !context.server.store.bindings(tenant: context.tenant, device: context.phone.id, logger: self.logger).isEmpty
                }
            )
            let call = try await self.doorCalls(context, "101")
            #expect(call.status == 0, "\(call.output)")
            // baresip quits by itself (-t); its log tells what it saw if anything above failed.
            let run = try await baresip.value
            #expect(!run.timedOut && call.status == 0, "\(run.output)")
        }
    }
}
