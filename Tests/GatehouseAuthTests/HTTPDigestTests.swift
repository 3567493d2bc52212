import GatehouseAuth
import Testing

/// Client-side HTTP digest (RFC 7616) and the webhook signature.
struct HTTPDigestTests {
    @Test func parsesQuotedEscapedAndBareParameters() {
        let fields = HTTPDigest.parameters(#"Digest realm="door \"A\"", qop="auth,auth-int", nonce=abc123, algorithm=MD5"#)
        #expect(fields == ["realm": #"door "A""#, "qop": "auth,auth-int", "nonce": "abc123", "algorithm": "MD5"])
        #expect(HTTPDigest.parameters("Basic realm=\"x\"") == nil)
        #expect(HTTPDigest.parameters(#"Digest realm="unterminated"#) == nil)
        #expect(HTTPDigest.parameters(#"Digest realm="a", realm="b""#) == nil)
    }

    /// RFC 2617 §3.5's example: user Mufasa, password "Circle Of Life".
    @Test func answersTheRFC2617Example() throws {
        let challenge =
            #"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#
        let authorization = try #require(
            HTTPDigest.authorization(
                challenge: challenge,
                username: "Mufasa",
                password: "Circle Of Life",
                method: "GET",
                uri: "/dir/index.html",
                clientNonce: "0a4f113b"
            )
        )
        let fields = try #require(HTTPDigest.parameters(authorization))
        #expect(fields["response"] == "6629fae49393a05397450978507c4ef1")
        #expect(fields["opaque"] == "5ccc069c403ebaf9f0171e9517f40e41" && fields["nc"] == "00000001" && fields["qop"] == "auth")
        #expect(
            HTTPDigest.authorization(
                challenge: #"Digest realm="r", nonce="n", algorithm=SHA-512-256"#,
                username: "u",
                password: "p",
                method: "GET",
                uri: "/",
                clientNonce: "c"
            ) == nil
        )
    }

    @Test func webhookSignaturesBindTimestampAndBody() {
        let body = Array(#"{"relay":1}"#.utf8)
        let signature = WebhookSignature.sign(secret: "s3cret", timestamp: 1_795_000_000, body: body)
        #expect(signature.hasPrefix("v1=") && signature.count == 3 + 64)
        #expect(WebhookSignature.verify(signature, secret: "s3cret", timestamp: 1_795_000_000, body: body))
        #expect(!WebhookSignature.verify(signature, secret: "s3cret", timestamp: 1_795_000_001, body: body))
        #expect(!WebhookSignature.verify(signature, secret: "other", timestamp: 1_795_000_000, body: body))
        #expect(!WebhookSignature.verify(signature, secret: "s3cret", timestamp: 1_795_000_000, body: Array(#"{"relay":2}"#.utf8)))
    }
}
