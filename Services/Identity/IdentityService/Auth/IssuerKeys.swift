package import Configuration
import Foundation
package import GatehouseAuth
import GatehouseNATS
import GatehouseWire
package import Hummingbird
import Logging
import NIOCore
package import ServiceKit
import ServiceLifecycle

/// The access-token issuer's keys (docs/security.md).
///
/// ## Configuration keys (under `gatehouse.`)
/// - `auth.issuerKey` (secret, required): the Ed25519 private key (32 bytes, base64) tokens are
///   signed with.
/// - `auth.previousPublicKeys` (optional): base64url public keys still trusted during a rotation,
///   comma-separated; tokens signed with them verify until they expire.
package struct IssuerKeys: Sendable {
    package let signer: TokenSigner
    package let keySet: JWKS

    package init(signer: TokenSigner, previous: [PublicJWK] = []) {
        self.signer = signer
        self.keySet = JWKS(keys: [signer.publicJWK] + previous.filter { $0.kid != signer.keyID })
    }

    package init(config: ConfigReader) throws {
        let seed = try config.requiredSecretKey(forKey: "auth.issuerKey", environment: "GATEHOUSE_AUTH_ISSUER_KEY")
        var previous: [PublicJWK] = []
        for item in config.string(forKey: "auth.previousPublicKeys", default: "").split(separator: ",") {
            guard let raw = Base64URL.decode(item.trimmingCharacters(in: .whitespaces)), let key = try? PublicJWK(rawPublicKey: raw) else {
                throw GatehouseError.invalidConfiguration("auth.previousPublicKeys must be base64url Ed25519 public keys, comma-separated")
            }
            previous.append(key)
        }
        self.init(signer: try TokenSigner(seed: seed), previous: previous)
    }
}

/// Publishes the issuer's key set where services watch for it, at start and again every 10 minutes
/// (so a bucket that was purged or recreated heals itself).
package struct KeySetPublisher: Service {
    let resources: ServiceResources
    let keys: IssuerKeys

    package init(resources: ServiceResources, keys: IssuerKeys) {
        self.resources = resources
        self.keys = keys
    }

    package func run() async throws {
        let body = try WireCoding.encode(self.keys.keySet)
        var backoff = Duration.milliseconds(200)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let store = try await self.resources.nats.jetStream.createKeyValue(AuthKeyDistribution.configuration)
                let current = try await store.get(AuthKeyDistribution.key)
                if current?.value != Array(body) {
                    _ = try await store.put(AuthKeyDistribution.key, Array(body))
                    self.resources.logger.notice(
                        "auth key set published",
                        metadata: ["gatehouse.keys": "\(self.keys.keySet.keys.map(\.kid))"]
                    )
                }
                backoff = .milliseconds(200)
                try? await Task.sleep(for: .seconds(600))
            } catch {
                self.resources.logger.warning("auth key set not published; retrying", metadata: ["error.type": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(10))
            }
        }
    }
}

extension IssuerKeys {
    /// `GET /.well-known/jwks.json`: the key set, for verifiers outside the deployment.
    package func register(on router: Router<BasicRequestContext>) {
        let keySet = self.keySet
        router.get("/.well-known/jwks.json") { _, _ in
            try Response.json(keySet, headers: [.cacheControl: "max-age=300"], contentType: "application/jwk-set+json")
        }
    }
}
