package import Hummingbird
import NIOCore

/// The OpenAPI 3.1 document of identity's admin API, served at `/openapi.json`. `make test` runs
/// schemathesis against the running service with this document (scripts/test.sh); a route that is
/// added without its description here fails that run.
package enum IdentityOpenAPI {
    package static func register(on router: Router<BasicRequestContext>) {
        router.get("/openapi.json") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: Self.document))
            )
        }
    }

    package static let document = #"""
        {
          "openapi": "3.1.0",
          "info": {
            "title": "Gatehouse identity API",
            "version": "1.0.0",
            "description": "Tenants' people, with erasure. Errors are RFC 9457 problem documents; see docs/operations.md and docs/security.md."
          },
          "servers": [{"url": "http://127.0.0.1:8081"}],
          "security": [{"bearer": []}],
          "paths": {
            "/.well-known/jwks.json": {
              "get": {
                "operationId": "getKeySet",
                "summary": "The access-token issuer's public keys (JWKS, RFC 8037 OKP keys).",
                "security": [],
                "responses": {
                  "200": {"description": "The key set.", "content": {"application/jwk-set+json": {"schema": {"$ref": "#/components/schemas/KeySet"}}}}
                }
              }
            },
            "/v1/auth/login": {
              "post": {
                "operationId": "login",
                "summary": "Password login of a person of a tenant; a wrong password, unknown e-mail or locked account all answer 401.",
                "security": [],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Login"}}}},
                "responses": {
                  "200": {"description": "Tokens.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Tokens"}}}},
                  "400": {"$ref": "#/components/responses/Problem"},
                  "401": {"$ref": "#/components/responses/Problem"},
                  "413": {"$ref": "#/components/responses/Problem"},
                  "415": {"$ref": "#/components/responses/Problem"}
                }
              }
            },
            "/v1/auth/refresh": {
              "post": {
                "operationId": "refresh",
                "summary": "Trade a refresh token for new tokens; each refresh token works once.",
                "security": [],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RefreshToken"}}}},
                "responses": {
                  "200": {"description": "Tokens.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Tokens"}}}},
                  "400": {"$ref": "#/components/responses/Problem"},
                  "401": {"$ref": "#/components/responses/Problem"},
                  "413": {"$ref": "#/components/responses/Problem"},
                  "415": {"$ref": "#/components/responses/Problem"}
                }
              }
            },
            "/v1/auth/logout": {
              "post": {
                "operationId": "logout",
                "summary": "End the session a refresh token belongs to.",
                "security": [],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RefreshToken"}}}},
                "responses": {
                  "204": {"description": "Ended (also when the token was unknown)."},
                  "400": {"$ref": "#/components/responses/Problem"},
                  "413": {"$ref": "#/components/responses/Problem"},
                  "415": {"$ref": "#/components/responses/Problem"}
                }
              }
            },
            "/v1/tenants/{tenant}/people/{person}/export": {
              "parameters": [{"$ref": "#/components/parameters/tenant"}, {"$ref": "#/components/parameters/person"}],
              "get": {
                "operationId": "exportPerson",
                "summary": "The person's data as one JSON document (GDPR art. 15/20): for the person or a tenant admin.",
                "responses": {
                  "200": {"description": "The export.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PersonExport"}}}},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Problem"},
                  "404": {"$ref": "#/components/responses/Problem"}
                }
              }
            },
            "/v1/tenants/{tenant}/people/{person}/password": {
              "parameters": [{"$ref": "#/components/parameters/tenant"}, {"$ref": "#/components/parameters/person"}],
              "put": {
                "operationId": "setPassword",
                "summary": "Set a person's password (the person, or a tenant admin); ends their sessions.",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Password"}}}},
                "responses": {
                  "204": {"description": "Set."},
                  "400": {"$ref": "#/components/responses/Problem"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Problem"},
                  "404": {"$ref": "#/components/responses/Problem"},
                  "413": {"$ref": "#/components/responses/Problem"},
                  "415": {"$ref": "#/components/responses/Problem"}
                }
              }
            },
            "/v1/tenants/{tenant}/people": {
              "parameters": [{"$ref": "#/components/parameters/tenant"}],
              "get": {
                "operationId": "listPeople",
                "summary": "People of the tenant in id order; follow nextCursor for more.",
                "parameters": [
                  {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
                  {"name": "kind", "in": "query", "schema": {"$ref": "#/components/schemas/Kind"}},
                  {"name": "cursor", "in": "query", "schema": {"type": "string", "maxLength": 128}}
                ],
                "responses": {
                  "200": {"description": "A page.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PeoplePage"}}}},
                  "400": {"$ref": "#/components/responses/Problem"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Problem"},
                  "404": {"$ref": "#/components/responses/Problem"}
                }
              },
              "post": {
                "operationId": "createPerson",
                "summary": "Create a person. With Idempotency-Key, a retry returns the first response.",
                "parameters": [
                  {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "minLength": 1, "maxLength": 255}}
                ],
                "requestBody": {
                  "required": true,
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PersonCreate"}}}
                },
                "responses": {
                  "201": {
                    "description": "Created.",
                    "headers": {"ETag": {"$ref": "#/components/headers/ETag"}, "Location": {"schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Person"}}}
                  },
                  "400": {"$ref": "#/components/responses/Problem"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Problem"},
                  "404": {"$ref": "#/components/responses/Problem"},
                  "409": {"$ref": "#/components/responses/Problem"},
                  "413": {"$ref": "#/components/responses/Problem"},
                  "415": {"$ref": "#/components/responses/Problem"},
                  "422": {"$ref": "#/components/responses/Problem"}
                }
              }
            },
            "/v1/tenants/{tenant}/people/{person}": {
              "parameters": [{"$ref": "#/components/parameters/tenant"}, {"$ref": "#/components/parameters/person"}],
              "get": {
                "operationId": "getPerson",
                "summary": "One person; ETag for conditional requests.",
                "parameters": [{"name": "If-None-Match", "in": "header", "schema": {"type": "string", "maxLength": 64}}],
                "responses": {
                  "200": {
                    "description": "The person.",
                    "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Person"}}}
                  },
                  "304": {"description": "Not modified since the ETag given."},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Problem"},
                  "404": {"$ref": "#/components/responses/Problem"}
                }
              },
              "patch": {
                "operationId": "updatePerson",
                "summary": "Change a person (JSON merge patch); If-Match with the ETag read is required.",
                "parameters": [{"name": "If-Match", "in": "header", "required": true, "schema": {"type": "string", "maxLength": 64}}],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/merge-patch+json": {"schema": {"$ref": "#/components/schemas/PersonPatch"}},
                    "application/json": {"schema": {"$ref": "#/components/schemas/PersonPatch"}}
                  }
                },
                "responses": {
                  "200": {
                    "description": "Changed.",
                    "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Person"}}}
                  },
                  "400": {"$ref": "#/components/responses/Problem"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Problem"},
                  "404": {"$ref": "#/components/responses/Problem"},
                  "409": {"$ref": "#/components/responses/Problem"},
                  "412": {"$ref": "#/components/responses/Problem"},
                  "413": {"$ref": "#/components/responses/Problem"},
                  "415": {"$ref": "#/components/responses/Problem"},
                  "428": {"$ref": "#/components/responses/Problem"}
                }
              },
              "delete": {
                "operationId": "erasePerson",
                "summary": "Erase the person's personal data (GDPR art. 17); idempotent. Publishes identity.person_erased.",
                "responses": {
                  "204": {"description": "Erased."},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Problem"},
                  "404": {"$ref": "#/components/responses/Problem"},
                  "503": {"$ref": "#/components/responses/Problem"}
                }
              }
            }
          },
          "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "parameters": {
              "tenant": {"name": "tenant", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}},
              "person": {"name": "person", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}
            },
            "headers": {
              "ETag": {"schema": {"type": "string", "pattern": "^\"v[0-9]+\"$"}}
            },
            "responses": {
              "Problem": {
                "description": "A problem document.",
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
              },
              "Unauthorized": {
                "description": "No valid bearer token.",
                "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
              }
            },
            "schemas": {
              "Kind": {"type": "string", "enum": ["resident", "staff", "guest"]},
              "Person": {
                "type": "object",
                "additionalProperties": false,
                "required": ["id", "kind", "displayName", "erased", "version", "createdAt", "updatedAt"],
                "properties": {
                  "id": {"type": "string", "format": "uuid"},
                  "kind": {"$ref": "#/components/schemas/Kind"},
                  "displayName": {"type": "string", "minLength": 1, "maxLength": 200},
                  "email": {"type": "string", "maxLength": 254},
                  "phone": {"type": "string", "maxLength": 32},
                  "staffRole": {"$ref": "#/components/schemas/StaffRole"},
                  "erased": {"type": "boolean"},
                  "erasedAt": {"type": "string", "format": "date-time"},
                  "version": {"type": "integer", "minimum": 1},
                  "createdAt": {"type": "string", "format": "date-time"},
                  "updatedAt": {"type": "string", "format": "date-time"}
                }
              },
              "PersonCreate": {
                "type": "object",
                "additionalProperties": false,
                "required": ["kind", "displayName"],
                "properties": {
                  "kind": {"$ref": "#/components/schemas/Kind"},
                  "displayName": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^\\s\\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?$"},
                  "email": {"type": ["string", "null"], "format": "email", "maxLength": 254},
                  "phone": {"type": ["string", "null"], "pattern": "^[+0-9 ()./-]{3,32}$"},
                  "staffRole": {"oneOf": [{"$ref": "#/components/schemas/StaffRole"}, {"type": "null"}]}
                }
              },
              "PersonPatch": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                  "kind": {"$ref": "#/components/schemas/Kind"},
                  "displayName": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^\\s\\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?$"},
                  "email": {"type": ["string", "null"], "format": "email", "maxLength": 254},
                  "phone": {"type": ["string", "null"], "pattern": "^[+0-9 ()./-]{3,32}$"},
                  "staffRole": {"oneOf": [{"$ref": "#/components/schemas/StaffRole"}, {"type": "null"}]}
                }
              },
              "StaffRole": {"type": "string", "enum": ["tenant-admin", "property-manager", "staff"]},
              "PersonExport": {
                "type": "object",
                "additionalProperties": false,
                "required": ["format", "exportedAt", "tenantId", "person", "residences"],
                "properties": {
                  "format": {"const": "gatehouse.person-export.v1"},
                  "exportedAt": {"type": "string", "format": "date-time"},
                  "tenantId": {"type": "string", "format": "uuid"},
                  "person": {"$ref": "#/components/schemas/Person"},
                  "residences": {
                    "type": "array",
                    "items": {
                      "type": "object",
                      "additionalProperties": false,
                      "required": ["unitId", "dialNumber", "buildingId", "siteId", "role"],
                      "properties": {
                        "unitId": {"type": "string", "format": "uuid"},
                        "dialNumber": {"type": "string"},
                        "buildingId": {"type": "string", "format": "uuid"},
                        "siteId": {"type": "string", "format": "uuid"},
                        "role": {"type": "string", "enum": ["owner", "tenant", "occupant"]}
                      }
                    }
                  }
                }
              },
              "Login": {
                "type": "object",
                "required": ["tenant", "email", "password"],
                "properties": {"tenant": {"type": "string"}, "email": {"type": "string"}, "password": {"type": "string"}}
              },
              "RefreshToken": {"type": "object", "required": ["refreshToken"], "properties": {"refreshToken": {"type": "string"}}},
              "Password": {
                "type": "object",
                "required": ["password"],
                "properties": {"password": {"type": "string", "minLength": 12, "maxLength": 256}}
              },
              "Tokens": {
                "type": "object",
                "additionalProperties": false,
                "required": ["accessToken", "tokenType", "expiresIn", "refreshToken", "role", "tenantId", "personId"],
                "properties": {
                  "accessToken": {"type": "string"},
                  "tokenType": {"const": "Bearer"},
                  "expiresIn": {"type": "integer", "minimum": 1},
                  "refreshToken": {"type": "string"},
                  "role": {"type": "string"},
                  "tenantId": {"type": "string", "format": "uuid"},
                  "personId": {"type": "string", "format": "uuid"}
                }
              },
              "PeoplePage": {
                "type": "object",
                "additionalProperties": false,
                "required": ["people"],
                "properties": {
                  "people": {"type": "array", "items": {"$ref": "#/components/schemas/Person"}},
                  "nextCursor": {"type": "string"}
                }
              },
              "Problem": {
                "type": "object",
                "required": ["type", "title", "status"],
                "properties": {
                  "type": {"type": "string", "pattern": "^urn:gatehouse:problem:[a-z0-9-]+$"},
                  "title": {"type": "string"},
                  "status": {"type": "integer", "minimum": 400, "maximum": 599},
                  "detail": {"type": "string"},
                  "instance": {"type": "string"},
                  "errors": {
                    "type": "array",
                    "items": {
                      "type": "object",
                      "required": ["field", "message"],
                      "properties": {"field": {"type": "string"}, "message": {"type": "string"}}
                    }
                  }
                }
              },
              "KeySet": {
                "type": "object",
                "required": ["keys"],
                "properties": {
                  "keys": {
                    "type": "array",
                    "items": {
                      "type": "object",
                      "required": ["kty", "crv", "x", "kid", "alg", "use"],
                      "properties": {
                        "kty": {"const": "OKP"},
                        "crv": {"const": "Ed25519"},
                        "x": {"type": "string"},
                        "kid": {"type": "string"},
                        "alg": {"const": "EdDSA"},
                        "use": {"const": "sig"}
                      }
                    }
                  }
                }
              }
            }
          }
        }
        """#
}
