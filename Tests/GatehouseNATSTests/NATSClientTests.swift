import Foundation
import GatehouseNATS
import Logging
import ServiceKitTesting
import Synchronization
import Testing

final class AtomicCounter: Sendable {
    let value = Atomic<Int>(0)
}

@Suite(.enabled(if: TestEnvironment.enabled("NATS_URL"), "set NATS_URL (make test does)"), .timeLimit(.minutes(1)))
struct NATSClientTests {
    @Test func publishSubscribeWithHeaders() async throws {
        try await withNATSClient(try TestEnvironment.natsURL) { client in
            let subject = "test.\(UUID().uuidString).pub"
            let subscription = try await client.subscribe(to: subject)
            try await client.flush()
            try await client.publish(Array("hello".utf8), to: subject, headers: ["X-Test": "1"])
            var iterator = subscription.makeAsyncIterator()
            let message = try #require(await iterator.next())
            #expect(String(decoding: message.payload, as: UTF8.self) == "hello")
            #expect(message.headers["X-Test"] == "1")
            #expect(message.subject == subject)
        }
    }

    @Test func queueGroupDeliversEachMessageOnce() async throws {
        try await withNATSClient(try TestEnvironment.natsURL) { client in
            let subject = "test.\(UUID().uuidString).queue"
            let first = try await client.subscribe(to: subject, queue: "workers")
            let second = try await client.subscribe(to: subject, queue: "workers")
            try await client.flush()
            for index in 0..<100 { try await client.publish(Array("\(index)".utf8), to: subject) }
            try await client.flush()
            let counted = AtomicCounter()
            await withTaskGroup(of: Void.self) { group in
                for subscription in [first, second] {
                    group.addTask {
                        for await _ in subscription {
                            if counted.value.add(1, ordering: .relaxed).newValue == 100 { first.unsubscribe(); second.unsubscribe() }
                        }
                    }
                }
            }
            #expect(counted.value.load(ordering: .relaxed) == 100)
        }
    }

    @Test func requestReply() async throws {
        try await withNATSClient(try TestEnvironment.natsURL) { client in
            let subject = "test.\(UUID().uuidString).echo"
            let subscription = try await client.subscribe(to: subject)
            try await client.flush()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await message in subscription {
                        try await client.publish(message.payload.reversed(), to: message.replyTo!)
                    }
                }
                let reply = try await client.request(Array("abc".utf8), to: subject, timeout: .seconds(2))
                #expect(String(decoding: reply.payload, as: UTF8.self) == "cba")
                subscription.unsubscribe()
            }
        }
    }

    @Test func requestWithoutResponderFailsFast() async throws {
        try await withNATSClient(try TestEnvironment.natsURL) { client in
            let start = ContinuousClock.now
            await #expect(throws: NATSError(code: .noResponders, message: "")) {
                _ = try await client.request([], to: "test.\(UUID().uuidString).nobody", timeout: .seconds(5))
            }
            #expect(ContinuousClock.now - start < .seconds(2))
        }
    }

    @Test func requestTimesOutWithAClearError() async throws {
        try await withNATSClient(try TestEnvironment.natsURL) { client in
            let subject = "test.\(UUID().uuidString).silent"
            let subscription = try await client.subscribe(to: subject)  // listens, never answers
            try await client.flush()
            let error = await #expect(throws: NATSError.self) {
                _ = try await client.request([], to: subject, timeout: .milliseconds(200))
            }
            #expect(error?.code == .timeout)
            #expect(error?.message.contains(subject) == true)
            subscription.unsubscribe()
        }
    }

    @Test func jetStreamPublishIsDeduplicatedAndConsumedWithAcks() async throws {
        try await withNATSClient(try TestEnvironment.natsURL) { client in
            let name = "TEST_\(UUID().uuidString.prefix(8))"
            let subject = "jstest.\(name).>"
            try await client.jetStream.ensureStream(StreamConfiguration(name: name, subjects: [subject], storage: .memory))
            let first = try await client.jetStream.publish(Array("one".utf8), to: "jstest.\(name).a", messageID: "id-1")
            let again = try await client.jetStream.publish(Array("one".utf8), to: "jstest.\(name).a", messageID: "id-1")
            _ = try await client.jetStream.publish(Array("two".utf8), to: "jstest.\(name).b", messageID: "id-2")
            #expect(!first.duplicate && again.duplicate && again.sequence == first.sequence)
            #expect(try await client.jetStream.streamInfo(name).state.messages == 2)

            try await client.jetStream.ensureConsumer(stream: name, ConsumerConfiguration(durableName: "reader", ackWait: .seconds(1)))
            let consumer = try await client.jetStream.pullConsumer(stream: name, durable: "reader")
            let batch = try await consumer.fetch(batch: 10, timeout: .seconds(2))
            #expect(batch.map { String(decoding: $0.payload, as: UTF8.self) } == ["one", "two"])
            try batch[0].ack()
            try batch[1].nak()
            let redelivered = try await consumer.fetch(batch: 10, timeout: .seconds(3))
            #expect(redelivered.count == 1)
            #expect(redelivered.first?.deliveryCount == 2)
            try redelivered.first?.term()
            #expect(try await consumer.fetch(batch: 10, timeout: .milliseconds(300)).isEmpty)
            try await client.jetStream.deleteStream(name)
        }
    }

    @Test func aPipelinedBatchIsStoredInOrderAndDeduplicated() async throws {
        try await withNATSClient(try TestEnvironment.natsURL) { client in
            let name = "TEST_\(UUID().uuidString.prefix(8))"
            try await client.jetStream.ensureStream(StreamConfiguration(name: name, subjects: ["jsbatch.\(name).>"], storage: .memory))
            let messages = (0..<300).map { index in
                (payload: Array("\(index)".utf8), subject: "jsbatch.\(name).\(index % 3)", messageID: "m-\(index)", headers: NATSHeaders())
            }
            let acks = try await client.jetStream.publishBatch(messages)
            // Acknowledged in the order sent, with consecutive stream sequences.
            #expect(acks.map(\.sequence) == Array(1...300).map(UInt64.init))
            // The same batch again (a relay retrying after a lost ack): nothing stored twice.
            let again = try await client.jetStream.publishBatch(Array(messages.prefix(10)))
            #expect(again.allSatisfy { $0.duplicate })
            #expect(try await client.jetStream.streamInfo(name).state.messages == 300)
            // No stream for the subject: an error, not a hang.
            await #expect(throws: NATSError.self) {
                _ = try await client.jetStream.publishBatch(
                    [(payload: [1], subject: "nostream.\(name)", messageID: "x", headers: NATSHeaders())],
                    timeout: .seconds(2)
                )
            }
            try await client.jetStream.deleteStream(name)
        }
    }

    @Test func keyValueGetPutDeleteWatch() async throws {
        try await withNATSClient(try TestEnvironment.natsURL) { client in
            let bucket = "test_\(UUID().uuidString.prefix(8))"
            let kv = try await client.jetStream.createKeyValue(KeyValueConfiguration(bucket: bucket, history: 5, storage: .memory))
            #expect(try await kv.get("door") == nil)
            let revision = try await kv.put("door", Array("closed".utf8))
            #expect(try await kv.get("door")?.value == Array("closed".utf8))
            await #expect(throws: NATSError(code: .wrongLastSequence, message: "")) {
                try await kv.update("door", Array("open".utf8), expectedRevision: revision + 10)
            }
            let watch = try await kv.watch("door")
            try await kv.put("door", Array("open".utf8))
            try await kv.delete("door")
            var seen: [KeyValueEntry.Operation] = []
            for try await entry in watch {
                seen.append(entry.operation)
                if entry.operation == .delete { break }
            }
            #expect(seen.last == .delete)
            #expect(seen.contains(.put))
            #expect(try await kv.get("door") == nil)
        }
    }
}

/// Tests that restart their own nats-server.
@Suite(.enabled(if: TestEnvironment.enabled("NATS_SERVER_BIN", "NATS_CONFIG"), "set NATS_SERVER_BIN and NATS_CONFIG"), .timeLimit(.minutes(1)))
struct NATSRestartTests {
    @Test func subscriptionKeepsReceivingAfterServerRestart() async throws {
        let server = try NATSServerProcess()
        try await server.start()
        try await withNATSClient(server.url) { client in
            let subject = "restart.test"
            let subscription = try await client.subscribe(to: subject)
            var iterator = subscription.makeAsyncIterator()
            try await client.flush()
            try await client.publish(Array("before".utf8), to: subject)
            #expect(await iterator.next()?.payload == Array("before".utf8))

            server.stop()
            #expect(try await eventually { !client.isConnected })
            try await server.start()
            #expect(try await eventually(timeout: .seconds(20)) { client.isConnected })
            try await client.flush()
            try await client.publish(Array("after".utf8), to: subject)
            #expect(await iterator.next()?.payload == Array("after".utf8))
        }
    }

    @Test func acknowledgedJetStreamPublishSurvivesRestart() async throws {
        let server = try NATSServerProcess()
        try await server.start()
        try await withNATSClient(server.url) { client in
            try await client.jetStream.ensureStream(StreamConfiguration(name: "DURABLE", subjects: ["durable.>"]))
            let ack = try await client.jetStream.publish(Array("kept".utf8), to: "durable.one", messageID: "m-1")
            #expect(ack.sequence == 1)
            server.stop()
            try await server.start()
            #expect(try await eventually(timeout: .seconds(20)) { client.isConnected })
            let info = try await client.jetStream.streamInfo("DURABLE")
            #expect(info.state.messages == 1)
            // The duplicate window survives too: the same id is not stored twice.
            #expect(try await client.jetStream.publish(Array("kept".utf8), to: "durable.one", messageID: "m-1").duplicate)
        }
    }
}

/// TLS and authentication against a server of the test's own.
@Suite(.enabled(if: TestEnvironment.enabled("NATS_SERVER_BIN", "NATS_CONFIG"), "set NATS_SERVER_BIN and NATS_CONFIG"), .timeLimit(.minutes(1)))
struct NATSSecurityTests {
    /// A throwaway CA and server certificate for 127.0.0.1, made with openssl.
    func makeCertificates(in directory: URL) throws -> (ca: String, certificate: String, key: String) {
        let ca = directory.appendingPathComponent("ca.pem").path
        let caKey = directory.appendingPathComponent("ca.key").path
        let key = directory.appendingPathComponent("server.key").path
        let csr = directory.appendingPathComponent("server.csr").path
        let certificate = directory.appendingPathComponent("server.pem").path
        let extensions = directory.appendingPathComponent("san.ext")
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(to: extensions, atomically: true, encoding: .utf8)
        for arguments in [
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", caKey, "-out", ca, "-days", "1", "-subj",
                "/CN=test-ca",
            ],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
            [
                "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-out", certificate, "-days", "1", "-extfile",
                extensions.path,
            ],
        ] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            try #require(process.terminationStatus == 0, "openssl \(arguments[0]) failed")
        }
        return (ca, certificate, key)
    }

    @Test func connectsOverTLSWithUserAndPassword() async throws {
        let server = try NATSServerProcess()
        let certificates = try self.makeCertificates(in: server.storeDirectory)
        server.extraConfiguration = """
            tls { cert_file: "\(certificates.certificate)", key_file: "\(certificates.key)" }
            authorization { user: gatehouse, password: "s3cret-pass" }
            """
        try await server.start()
        try await withNATSClient(
            "tls://127.0.0.1:\(server.port)",
            configure: {
                $0.tls = .init(caFile: certificates.ca, expectedHostname: "localhost")
                $0.user = "gatehouse"
                $0.password = "s3cret-pass"
            }
        ) { client in
            let subject = "tls.test"
            let subscription = try await client.subscribe(to: subject)
            try await client.flush()
            try await client.publish(Array("secure".utf8), to: subject)
            var iterator = subscription.makeAsyncIterator()
            #expect(await iterator.next()?.payload == Array("secure".utf8))
            #expect(client.connectedServer?.contains("\(server.port)") == true)
        }
    }

    @Test func onlyTheRightPasswordConnects() async throws {
        let server = try NATSServerProcess()
        server.extraConfiguration = #"authorization { user: gatehouse, password: "right" }"#
        try await server.start()
        try await withNATSClient(
            server.url,
            configure: {
                $0.user = "gatehouse"; $0.password = "wrong"
            }
        ) { client in
            await #expect(throws: NATSError.self) {
                _ = try await client.request([], to: "anything", timeout: .seconds(1))
            }
            #expect(!client.isConnected)
        }
        try await withNATSClient(
            server.url,
            configure: {
                $0.user = "gatehouse"; $0.password = "right"
            }
        ) { client in
            try await client.flush()
            #expect(client.isConnected)
        }
    }
}
