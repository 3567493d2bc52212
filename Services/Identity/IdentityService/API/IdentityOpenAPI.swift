package import Hummingbird
import NIOCore

/// The OpenAPI 3.1 document of identity's admin API, served at `/openapi.json`. `make test` runs
/// schemathesis against the running service with this document (scripts/test.sh), and
/// `IdentityRouteAccessTests` calls every operation in it with every role: each operation's
/// `x-gatehouse-scope` (`public`, a scope, or `self-or:<scope>`) is what that test holds it to.
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
            "description": "Tenants' places (sites, buildings, units, doors), people with erasure, and devices with their SIP credentials. Errors are RFC 9457 problem documents; see docs/operations.md and docs/security.md."
          },
          "servers": [
            {
              "url": "http://127.0.0.1:8081"
            }
          ],
          "security": [
            {
              "bearer": []
            }
          ],
          "paths": {
            "/.well-known/jwks.json": {
              "get": {
                "operationId": "getKeySet",
                "summary": "The access-token issuer's public keys (JWKS, RFC 8037 OKP keys).",
                "security": [],
                "responses": {
                  "200": {
                    "description": "The key set.",
                    "content": {
                      "application/jwk-set+json": {
                        "schema": {
                          "$ref": "#/components/schemas/KeySet"
                        }
                      }
                    }
                  }
                },
                "x-gatehouse-scope": "public"
              }
            },
            "/v1/auth/login": {
              "post": {
                "operationId": "login",
                "summary": "Password login of a person of a tenant; a wrong password, unknown e-mail or locked account all answer 401.",
                "security": [],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/Login"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "Tokens.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Tokens"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "public"
              }
            },
            "/v1/auth/refresh": {
              "post": {
                "operationId": "refresh",
                "summary": "Trade a refresh token for new tokens; each refresh token works once.",
                "security": [],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/RefreshToken"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "Tokens.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Tokens"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "public"
              }
            },
            "/v1/auth/logout": {
              "post": {
                "operationId": "logout",
                "summary": "End the session a refresh token belongs to.",
                "security": [],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/RefreshToken"
                      }
                    }
                  }
                },
                "responses": {
                  "204": {
                    "description": "Ended (also when the token was unknown)."
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "public"
              }
            },
            "/v1/tenants": {
              "get": {
                "operationId": "listTenants",
                "summary": "The deployment's live tenants in slug order (the operator's).",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/limit"
                  },
                  {
                    "name": "cursor",
                    "in": "query",
                    "schema": {
                      "type": "string",
                      "maxLength": 200
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "A page of tenants.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/TenantsPage"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "tenants:manage"
              },
              "post": {
                "operationId": "createTenant",
                "summary": "Create a tenant (a customer). With Idempotency-Key, a retry returns the first response. Publishes identity.tenant_created.",
                "parameters": [
                  {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 255
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/TenantCreate"
                      }
                    }
                  }
                },
                "responses": {
                  "201": {
                    "description": "Created.",
                    "headers": {
                      "ETag": {
                        "$ref": "#/components/headers/ETag"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Tenant"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "409": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "422": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "tenants:manage"
              }
            },
            "/v1/tenants/{tenant}": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                }
              ],
              "get": {
                "operationId": "getTenant",
                "summary": "The tenant.",
                "responses": {
                  "200": {
                    "description": "The tenant.",
                    "headers": {
                      "ETag": {
                        "$ref": "#/components/headers/ETag"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Tenant"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:read"
              },
              "patch": {
                "operationId": "updateTenant",
                "summary": "Change the tenant's name or default time zone (the slug is fixed); If-Match with the ETag read is required. Publishes identity.tenant_updated.",
                "parameters": [
                  {
                    "name": "If-Match",
                    "in": "header",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "maxLength": 64
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/merge-patch+json": {
                      "schema": {
                        "$ref": "#/components/schemas/TenantPatch"
                      }
                    },
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/TenantPatch"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "Changed.",
                    "headers": {
                      "ETag": {
                        "$ref": "#/components/headers/ETag"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Tenant"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "412": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "428": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:write"
              },
              "delete": {
                "operationId": "deleteTenant",
                "summary": "Delete a tenant with no sites and no people left but erased ones (409 otherwise): its API keys are revoked, its slug stays taken, its audit log stays. Publishes identity.tenant_deleted.",
                "responses": {
                  "204": {
                    "description": "Deleted."
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "409": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "tenants:manage"
              }
            },
            "/v1/tenants/{tenant}/doors/{door}": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                },
                {
                  "$ref": "#/components/parameters/door"
                }
              ],
              "get": {
                "operationId": "getDoor",
                "summary": "One door or gate.",
                "responses": {
                  "200": {
                    "description": "The door.",
                    "headers": {
                      "ETag": {
                        "$ref": "#/components/headers/ETag"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Door"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:read"
              },
              "patch": {
                "operationId": "updateDoor",
                "summary": "Rename a door, change its kind or move it to another building of its site (null: shared by the site); If-Match with the ETag read is required. Publishes identity.door_updated.",
                "parameters": [
                  {
                    "name": "If-Match",
                    "in": "header",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "maxLength": 64
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/merge-patch+json": {
                      "schema": {
                        "$ref": "#/components/schemas/DoorPatch"
                      }
                    },
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/DoorPatch"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "Changed.",
                    "headers": {
                      "ETag": {
                        "$ref": "#/components/headers/ETag"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Door"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "409": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "412": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "428": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:write"
              },
              "delete": {
                "operationId": "deleteDoor",
                "summary": "Delete a door no live door station serves (409 otherwise); its revoked stations go with it. Publishes identity.door_deleted.",
                "responses": {
                  "204": {
                    "description": "Deleted."
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "409": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:write"
              }
            },
            "/v1/tenants/{tenant}/people/{person}/export": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                },
                {
                  "$ref": "#/components/parameters/person"
                }
              ],
              "get": {
                "operationId": "exportPerson",
                "summary": "The person's data as one JSON document (GDPR art. 15/20): for the person or a tenant admin.",
                "responses": {
                  "200": {
                    "description": "The export.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/PersonExport"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "self-or:identity:write"
              }
            },
            "/v1/tenants/{tenant}/people/{person}/guests": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                },
                {
                  "$ref": "#/components/parameters/person"
                }
              ],
              "get": {
                "operationId": "listGuests",
                "summary": "The host's live guests, newest first (at most 50).",
                "responses": {
                  "200": {
                    "description": "The guests.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/GuestsPage"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "self-or:identity:read"
              },
              "post": {
                "operationId": "createGuest",
                "summary": "Invite a guest: the resident or staff member themselves, or an administrator for them. The guest's record is erased when validUntil passes (identity.person_erased). With Idempotency-Key, a retry returns the first response.",
                "parameters": [
                  {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 255
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/GuestCreate"
                      }
                    }
                  }
                },
                "responses": {
                  "201": {
                    "description": "Created.",
                    "headers": {
                      "ETag": {
                        "$ref": "#/components/headers/ETag"
                      },
                      "Location": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Person"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "409": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "422": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "self-or:identity:write"
              }
            },
            "/v1/tenants/{tenant}/people/{person}/password": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                },
                {
                  "$ref": "#/components/parameters/person"
                }
              ],
              "put": {
                "operationId": "setPassword",
                "summary": "Set a person's password (the person, or a tenant admin); ends their sessions.",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/Password"
                      }
                    }
                  }
                },
                "responses": {
                  "204": {
                    "description": "Set."
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "self-or:identity:write"
              }
            },
            "/v1/tenants/{tenant}/people": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                }
              ],
              "get": {
                "operationId": "listPeople",
                "summary": "People of the tenant in id order; follow nextCursor for more.",
                "parameters": [
                  {
                    "name": "limit",
                    "in": "query",
                    "schema": {
                      "type": "integer",
                      "minimum": 1,
                      "maximum": 500,
                      "default": 50
                    }
                  },
                  {
                    "name": "kind",
                    "in": "query",
                    "schema": {
                      "$ref": "#/components/schemas/Kind"
                    }
                  },
                  {
                    "name": "cursor",
                    "in": "query",
                    "schema": {
                      "type": "string",
                      "maxLength": 128
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "A page.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/PeoplePage"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:read"
              },
              "post": {
                "operationId": "createPerson",
                "summary": "Create a person. With Idempotency-Key, a retry returns the first response.",
                "parameters": [
                  {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 255
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/PersonCreate"
                      }
                    }
                  }
                },
                "responses": {
                  "201": {
                    "description": "Created.",
                    "headers": {
                      "ETag": {
                        "$ref": "#/components/headers/ETag"
                      },
                      "Location": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Person"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "409": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "422": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:write"
              }
            },
            "/v1/tenants/{tenant}/people/{person}": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                },
                {
                  "$ref": "#/components/parameters/person"
                }
              ],
              "get": {
                "operationId": "getPerson",
                "summary": "One person; ETag for conditional requests.",
                "parameters": [
                  {
                    "name": "If-None-Match",
                    "in": "header",
                    "schema": {
                      "type": "string",
                      "maxLength": 64
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The person.",
                    "headers": {
                      "ETag": {
                        "$ref": "#/components/headers/ETag"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Person"
                        }
                      }
                    }
                  },
                  "304": {
                    "description": "Not modified since the ETag given."
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:read"
              },
              "patch": {
                "operationId": "updatePerson",
                "summary": "Change a person (JSON merge patch); If-Match with the ETag read is required.",
                "parameters": [
                  {
                    "name": "If-Match",
                    "in": "header",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "maxLength": 64
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/merge-patch+json": {
                      "schema": {
                        "$ref": "#/components/schemas/PersonPatch"
                      }
                    },
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/PersonPatch"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "Changed.",
                    "headers": {
                      "ETag": {
                        "$ref": "#/components/headers/ETag"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Person"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "409": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "412": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "428": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:write"
              },
              "delete": {
                "operationId": "erasePerson",
                "summary": "Erase the person's personal data (GDPR art. 17); idempotent. Publishes identity.person_erased.",
                "responses": {
                  "204": {
                    "description": "Erased."
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "503": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:erase"
              }
            },
            "/v1/tenants/{tenant}/sites": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                }
              ],
              "get": {
                "operationId": "listSites",
                "summary": "The tenant's sites in name order, a page at a time (nextCursor).",
                "responses": {
                  "200": {
                    "description": "Sites.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/SitesPage"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:read",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/limit"
                  },
                  {
                    "$ref": "#/components/parameters/cursor"
                  }
                ]
              },
              "post": {
                "operationId": "createSite",
                "summary": "Create a site; its SIP domain is unique across the deployment. With Idempotency-Key, a retry returns the first response.",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/SiteCreate"
                      }
                    }
                  }
                },
                "responses": {
                  "201": {
                    "description": "Created.",
                    "headers": {
                      "Location": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Site"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "409": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "422": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:write",
                "parameters": [
                  {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 255
                    }
                  }
                ]
              }
            },
            "/v1/tenants/{tenant}/sites/{site}": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                },
                {
                  "$ref": "#/components/parameters/site"
                }
              ],
              "get": {
                "operationId": "getSite",
                "summary": "One site.",
                "responses": {
                  "200": {
                    "description": "The site.",
                    "headers": {
                      "ETag": {
                        "$ref": "#/components/headers/ETag"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Site"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:read"
              },
              "patch": {
                "operationId": "updateSite",
                "summary": "Change a site (JSON merge patch: name, time zone; the SIP domain is fixed at creation); If-Match with the ETag read is required. Publishes identity.site_updated.",
                "parameters": [
                  {
                    "name": "If-Match",
                    "in": "header",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "maxLength": 64
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/merge-patch+json": {
                      "schema": {
                        "$ref": "#/components/schemas/SitePatch"
                      }
                    },
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/SitePatch"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "Changed.",
                    "headers": {
                      "ETag": {
                        "$ref": "#/components/headers/ETag"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Site"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "409": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "412": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "428": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:write"
              },
              "delete": {
                "operationId": "deleteSite",
                "summary": "Delete a site with no buildings, doors or devices left (409 otherwise). Publishes identity.site_deleted.",
                "responses": {
                  "204": {
                    "description": "Deleted."
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "409": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:write"
              }
            },
            "/v1/tenants/{tenant}/buildings/{building}": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                },
                {
                  "$ref": "#/components/parameters/building"
                }
              ],
              "get": {
                "operationId": "getBuilding",
                "summary": "One building.",
                "responses": {
                  "200": {
                    "description": "The building.",
                    "headers": {
                      "ETag": {
                        "$ref": "#/components/headers/ETag"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Building"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:read"
              },
              "patch": {
                "operationId": "updateBuilding",
                "summary": "Rename a building; If-Match with the ETag read is required. Publishes identity.building_updated.",
                "parameters": [
                  {
                    "name": "If-Match",
                    "in": "header",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "maxLength": 64
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/merge-patch+json": {
                      "schema": {
                        "$ref": "#/components/schemas/BuildingPatch"
                      }
                    },
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/BuildingPatch"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "Changed.",
                    "headers": {
                      "ETag": {
                        "$ref": "#/components/headers/ETag"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Building"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "409": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "412": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "428": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:write"
              },
              "delete": {
                "operationId": "deleteBuilding",
                "summary": "Delete a building with no units or doors left (409 otherwise). Publishes identity.building_deleted.",
                "responses": {
                  "204": {
                    "description": "Deleted."
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "409": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:write"
              }
            },
            "/v1/tenants/{tenant}/sites/{site}/buildings": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                },
                {
                  "$ref": "#/components/parameters/site"
                }
              ],
              "get": {
                "operationId": "listBuildings",
                "summary": "The site's buildings in name order, a page at a time (nextCursor).",
                "responses": {
                  "200": {
                    "description": "Buildings.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/BuildingsPage"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:read",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/limit"
                  },
                  {
                    "$ref": "#/components/parameters/cursor"
                  }
                ]
              },
              "post": {
                "operationId": "createBuilding",
                "summary": "Create a building of the site; names are unique in the site. With Idempotency-Key, a retry returns the first response.",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/BuildingCreate"
                      }
                    }
                  }
                },
                "responses": {
                  "201": {
                    "description": "Created.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Building"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "409": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "422": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:write",
                "parameters": [
                  {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 255
                    }
                  }
                ]
              }
            },
            "/v1/tenants/{tenant}/sites/{site}/units": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                },
                {
                  "$ref": "#/components/parameters/site"
                }
              ],
              "get": {
                "operationId": "listUnits",
                "summary": "The site's units in dial-number order; follow nextCursor for more.",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/limit"
                  },
                  {
                    "name": "cursor",
                    "in": "query",
                    "schema": {
                      "type": "string",
                      "maxLength": 128
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "A page.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/UnitsPage"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:read"
              },
              "post": {
                "operationId": "createUnit",
                "summary": "Create a unit; its dial number is unique in the site. With Idempotency-Key, a retry returns the first response.",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/UnitCreate"
                      }
                    }
                  }
                },
                "responses": {
                  "201": {
                    "description": "Created.",
                    "headers": {
                      "Location": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Unit"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "409": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "422": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:write",
                "parameters": [
                  {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 255
                    }
                  }
                ]
              }
            },
            "/v1/tenants/{tenant}/sites/{site}/doors": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                },
                {
                  "$ref": "#/components/parameters/site"
                }
              ],
              "get": {
                "operationId": "listDoors",
                "summary": "The site's doors and gates in name order, a page at a time (nextCursor).",
                "responses": {
                  "200": {
                    "description": "Doors.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/DoorsPage"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:read",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/limit"
                  },
                  {
                    "$ref": "#/components/parameters/cursor"
                  }
                ]
              },
              "post": {
                "operationId": "createDoor",
                "summary": "Create (or, by name, change) a door or gate of the site: in a building, or shared when buildingId is absent. With Idempotency-Key, a retry returns the first response.",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/DoorCreate"
                      }
                    }
                  }
                },
                "responses": {
                  "201": {
                    "description": "Created.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Door"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "409": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "422": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:write",
                "parameters": [
                  {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 255
                    }
                  }
                ]
              }
            },
            "/v1/tenants/{tenant}/sites/{site}/fallbacks": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                },
                {
                  "$ref": "#/components/parameters/site"
                }
              ],
              "put": {
                "operationId": "setFallbacks",
                "summary": "Replace who rings, in order, when a unit of the site (or of one building) does not answer.",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/Fallbacks"
                      }
                    }
                  }
                },
                "responses": {
                  "204": {
                    "description": "Replaced."
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:write"
              }
            },
            "/v1/tenants/{tenant}/units/{unit}": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                },
                {
                  "$ref": "#/components/parameters/unit"
                }
              ],
              "get": {
                "operationId": "getUnit",
                "summary": "One unit with its residents (ids and roles).",
                "responses": {
                  "200": {
                    "description": "The unit.",
                    "headers": {
                      "ETag": {
                        "$ref": "#/components/headers/ETag"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Unit"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:read"
              },
              "patch": {
                "operationId": "updateUnit",
                "summary": "Change a unit (JSON merge patch: its building within the site, dial number, floor, ring time); If-Match with the ETag read is required. Publishes identity.unit_updated.",
                "parameters": [
                  {
                    "name": "If-Match",
                    "in": "header",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "maxLength": 64
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/merge-patch+json": {
                      "schema": {
                        "$ref": "#/components/schemas/UnitPatch"
                      }
                    },
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/UnitPatch"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "Changed.",
                    "headers": {
                      "ETag": {
                        "$ref": "#/components/headers/ETag"
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Unit"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "409": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "412": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "428": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:write"
              },
              "delete": {
                "operationId": "deleteUnit",
                "summary": "Delete a unit nobody lives in and no device rings for (409 otherwise). Publishes identity.unit_deleted.",
                "responses": {
                  "204": {
                    "description": "Deleted."
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "409": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:write"
              }
            },
            "/v1/tenants/{tenant}/units/{unit}/residents/{person}": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                },
                {
                  "$ref": "#/components/parameters/unit"
                },
                {
                  "$ref": "#/components/parameters/person"
                }
              ],
              "put": {
                "operationId": "setResident",
                "summary": "Make the person a resident of the unit with this role (or change the role).",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/Residence"
                      }
                    }
                  }
                },
                "responses": {
                  "204": {
                    "description": "Set."
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:write"
              },
              "delete": {
                "operationId": "removeResident",
                "summary": "End the person's residency in the unit (a move-out): the unit no longer rings their own devices. Idempotent.",
                "responses": {
                  "204": {
                    "description": "The person does not live there (any more)."
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:write"
              }
            },
            "/v1/tenants/{tenant}/devices": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                }
              ],
              "get": {
                "operationId": "listDevices",
                "summary": "The tenant's devices in id order, optionally of one site or kind; follow nextCursor for more.",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/limit"
                  },
                  {
                    "name": "siteId",
                    "in": "query",
                    "schema": {
                      "type": "string",
                      "format": "uuid"
                    }
                  },
                  {
                    "name": "kind",
                    "in": "query",
                    "schema": {
                      "$ref": "#/components/schemas/DeviceKind"
                    }
                  },
                  {
                    "name": "cursor",
                    "in": "query",
                    "schema": {
                      "type": "string",
                      "maxLength": 128
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "A page.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/DevicesPage"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:read"
              },
              "post": {
                "operationId": "createDevice",
                "summary": "Create a device with new SIP credentials; the answer holds sipPassword, shown this once. With Idempotency-Key, a retry answers 409 secret-already-shown naming what the first request made (the secret is never kept).",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/DeviceCreate"
                      }
                    }
                  }
                },
                "responses": {
                  "201": {
                    "description": "Created, with its SIP password.",
                    "headers": {
                      "Location": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Device"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "409": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "422": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:write",
                "parameters": [
                  {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 255
                    }
                  }
                ]
              }
            },
            "/v1/tenants/{tenant}/devices/{device}": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                },
                {
                  "$ref": "#/components/parameters/device"
                }
              ],
              "get": {
                "operationId": "getDevice",
                "summary": "One device (never its password).",
                "responses": {
                  "200": {
                    "description": "The device.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Device"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:read"
              },
              "delete": {
                "operationId": "revokeDevice",
                "summary": "Revoke the device: its SIP secrets are deleted at once; the record stays (idempotent).",
                "responses": {
                  "204": {
                    "description": "Revoked."
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:write"
              }
            },
            "/v1/tenants/{tenant}/devices/{device}/sip-password": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                },
                {
                  "$ref": "#/components/parameters/device"
                }
              ],
              "post": {
                "operationId": "rotateSIPPassword",
                "summary": "Replace the device's SIP password; the answer holds the new one, shown this once.",
                "responses": {
                  "200": {
                    "description": "The device with its new password.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Device"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "409": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "x-gatehouse-scope": "identity:write"
              }
            },
            "/v1/tenants/{tenant}/api-keys": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                }
              ],
              "get": {
                "operationId": "listAPIKeys",
                "summary": "The tenant's integrator API keys (never their secrets).",
                "x-gatehouse-scope": "identity:write",
                "responses": {
                  "200": {
                    "description": "Keys.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/APIKeysPage"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  }
                }
              },
              "post": {
                "operationId": "createAPIKey",
                "summary": "Create an integrator API key; the answer holds `key`, shown this once. With Idempotency-Key, a retry answers 409 secret-already-shown naming what the first request made (the secret is never kept).",
                "x-gatehouse-scope": "identity:write",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/APIKeyCreate"
                      }
                    }
                  }
                },
                "responses": {
                  "201": {
                    "description": "Created, with its secret.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/APIKey"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "409": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "422": {
                    "$ref": "#/components/responses/Problem"
                  }
                },
                "parameters": [
                  {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 255
                    }
                  }
                ]
              }
            },
            "/v1/tenants/{tenant}/api-keys/{key}": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                },
                {
                  "name": "key",
                  "in": "path",
                  "required": true,
                  "schema": {
                    "type": "string",
                    "format": "uuid"
                  }
                }
              ],
              "delete": {
                "operationId": "revokeAPIKey",
                "summary": "Revoke the key at once (idempotent).",
                "x-gatehouse-scope": "identity:write",
                "responses": {
                  "204": {
                    "description": "Revoked."
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  }
                }
              }
            },
            "/v1/auth/token": {
              "post": {
                "operationId": "tokenForAPIKey",
                "summary": "Trade an integrator API key for a short-lived access token (role integrator).",
                "security": [],
                "x-gatehouse-scope": "public",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/APIKeyToken"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "A token.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/IntegratorToken"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  }
                }
              }
            },
            "/v1/tenants/{tenant}/imports": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                }
              ],
              "post": {
                "operationId": "startImport",
                "summary": "Upload a provisioning CSV file (columns as for `gatehouse import`); the import runs as a job.",
                "x-gatehouse-scope": "identity:write",
                "parameters": [
                  {
                    "name": "dryRun",
                    "in": "query",
                    "schema": {
                      "type": "string",
                      "enum": [
                        "true",
                        "false"
                      ]
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "text/csv": {
                      "schema": {
                        "type": "string",
                        "maxLength": 16777216
                      }
                    }
                  }
                },
                "responses": {
                  "202": {
                    "description": "Queued.",
                    "headers": {
                      "Location": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/ImportJob"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "413": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "415": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "503": {
                    "$ref": "#/components/responses/Problem"
                  }
                }
              }
            },
            "/v1/tenants/{tenant}/imports/{job}": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                },
                {
                  "name": "job",
                  "in": "path",
                  "required": true,
                  "schema": {
                    "type": "string",
                    "format": "uuid"
                  }
                }
              ],
              "get": {
                "operationId": "getImport",
                "summary": "An import job: status, progress, then what changed or every problem by line.",
                "x-gatehouse-scope": "identity:write",
                "responses": {
                  "200": {
                    "description": "The job.",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/ImportJob"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  }
                }
              }
            },
            "/v1/tenants/{tenant}/export.csv": {
              "parameters": [
                {
                  "$ref": "#/components/parameters/tenant"
                }
              ],
              "get": {
                "operationId": "exportCSV",
                "summary": "The tenant's units and residents as a provisioning CSV file; importing it changes nothing.",
                "x-gatehouse-scope": "identity:write",
                "responses": {
                  "200": {
                    "description": "The file.",
                    "content": {
                      "text/csv": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Problem"
                  },
                  "404": {
                    "$ref": "#/components/responses/Problem"
                  }
                }
              }
            }
          },
          "components": {
            "securitySchemes": {
              "bearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT"
              }
            },
            "parameters": {
              "tenant": {
                "name": "tenant",
                "in": "path",
                "required": true,
                "schema": {
                  "type": "string",
                  "format": "uuid"
                }
              },
              "person": {
                "name": "person",
                "in": "path",
                "required": true,
                "schema": {
                  "type": "string",
                  "format": "uuid"
                }
              },
              "site": {
                "name": "site",
                "in": "path",
                "required": true,
                "schema": {
                  "type": "string",
                  "format": "uuid"
                }
              },
              "building": {
                "name": "building",
                "in": "path",
                "required": true,
                "schema": {
                  "type": "string",
                  "format": "uuid"
                }
              },
              "unit": {
                "name": "unit",
                "in": "path",
                "required": true,
                "schema": {
                  "type": "string",
                  "format": "uuid"
                }
              },
              "device": {
                "name": "device",
                "in": "path",
                "required": true,
                "schema": {
                  "type": "string",
                  "format": "uuid"
                }
              },
              "door": {
                "name": "door",
                "in": "path",
                "required": true,
                "schema": {
                  "type": "string",
                  "format": "uuid"
                }
              },
              "limit": {
                "name": "limit",
                "in": "query",
                "schema": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 500,
                  "default": 100
                }
              },
              "cursor": {
                "name": "cursor",
                "in": "query",
                "schema": {
                  "type": "string",
                  "maxLength": 1200
                }
              }
            },
            "headers": {
              "ETag": {
                "schema": {
                  "type": "string",
                  "pattern": "^\"v[0-9]+\"$"
                }
              }
            },
            "responses": {
              "Problem": {
                "description": "A problem document.",
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                }
              },
              "Unauthorized": {
                "description": "No valid bearer token.",
                "headers": {
                  "WWW-Authenticate": {
                    "schema": {
                      "type": "string"
                    }
                  }
                },
                "content": {
                  "application/problem+json": {
                    "schema": {
                      "$ref": "#/components/schemas/Problem"
                    }
                  }
                }
              }
            },
            "schemas": {
              "Kind": {
                "type": "string",
                "enum": [
                  "resident",
                  "staff",
                  "guest"
                ]
              },
              "Person": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "id",
                  "kind",
                  "displayName",
                  "erased",
                  "version",
                  "createdAt",
                  "updatedAt"
                ],
                "properties": {
                  "id": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "kind": {
                    "$ref": "#/components/schemas/Kind"
                  },
                  "displayName": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 200
                  },
                  "email": {
                    "type": "string",
                    "maxLength": 254
                  },
                  "phone": {
                    "type": "string",
                    "maxLength": 32
                  },
                  "staffRole": {
                    "$ref": "#/components/schemas/StaffRole"
                  },
                  "erased": {
                    "type": "boolean"
                  },
                  "erasedAt": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "version": {
                    "type": "integer",
                    "minimum": 1
                  },
                  "createdAt": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "updatedAt": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "siteIds": {
                    "type": "array",
                    "items": {
                      "type": "string",
                      "format": "uuid"
                    },
                    "description": "Staff only: the sites a property manager's logins reach."
                  },
                  "buildingIds": {
                    "type": "array",
                    "items": {
                      "type": "string",
                      "format": "uuid"
                    },
                    "description": "Staff only: the buildings a concierge's, security's or maintenance's logins reach."
                  },
                  "hostPersonId": {
                    "type": "string",
                    "format": "uuid",
                    "description": "A guest's host (the resident or staff member who invited them)."
                  },
                  "expiresAt": {
                    "type": "string",
                    "format": "date-time",
                    "description": "When a guest's record ends; it is erased then."
                  }
                }
              },
              "PersonCreate": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "kind",
                  "displayName"
                ],
                "properties": {
                  "kind": {
                    "$ref": "#/components/schemas/Kind"
                  },
                  "displayName": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 200,
                    "pattern": "^[^\\s\\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?$"
                  },
                  "email": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "format": "email",
                    "maxLength": 254
                  },
                  "phone": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "pattern": "^[+0-9 ()./-]{3,32}$"
                  },
                  "staffRole": {
                    "oneOf": [
                      {
                        "$ref": "#/components/schemas/StaffRole"
                      },
                      {
                        "type": "null"
                      }
                    ]
                  },
                  "siteIds": {
                    "type": "array",
                    "maxItems": 100,
                    "uniqueItems": true,
                    "items": {
                      "type": "string",
                      "format": "uuid"
                    },
                    "description": "Staff only: the sites (property managers) their logins reach; ids of this tenant."
                  },
                  "buildingIds": {
                    "type": "array",
                    "maxItems": 100,
                    "uniqueItems": true,
                    "items": {
                      "type": "string",
                      "format": "uuid"
                    },
                    "description": "Staff only: the buildings (concierge, security, maintenance) their logins reach; ids of this tenant."
                  }
                }
              },
              "PersonPatch": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                  "kind": {
                    "$ref": "#/components/schemas/Kind"
                  },
                  "displayName": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 200,
                    "pattern": "^[^\\s\\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?$"
                  },
                  "email": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "format": "email",
                    "maxLength": 254
                  },
                  "phone": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "pattern": "^[+0-9 ()./-]{3,32}$"
                  },
                  "staffRole": {
                    "oneOf": [
                      {
                        "$ref": "#/components/schemas/StaffRole"
                      },
                      {
                        "type": "null"
                      }
                    ]
                  },
                  "siteIds": {
                    "type": [
                      "array",
                      "null"
                    ],
                    "maxItems": 100,
                    "uniqueItems": true,
                    "items": {
                      "type": "string",
                      "format": "uuid"
                    },
                    "description": "Staff only: the sites (property managers); null empties their logins reach; ids of this tenant."
                  },
                  "buildingIds": {
                    "type": [
                      "array",
                      "null"
                    ],
                    "maxItems": 100,
                    "uniqueItems": true,
                    "items": {
                      "type": "string",
                      "format": "uuid"
                    },
                    "description": "Staff only: the buildings; null empties their logins reach; ids of this tenant."
                  }
                }
              },
              "StaffRole": {
                "type": "string",
                "enum": [
                  "tenant-admin",
                  "property-manager",
                  "staff"
                ]
              },
              "PersonExport": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "format",
                  "exportedAt",
                  "tenantId",
                  "person",
                  "residences"
                ],
                "properties": {
                  "format": {
                    "const": "gatehouse.person-export.v1"
                  },
                  "exportedAt": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "tenantId": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "person": {
                    "$ref": "#/components/schemas/Person"
                  },
                  "residences": {
                    "type": "array",
                    "items": {
                      "type": "object",
                      "additionalProperties": false,
                      "required": [
                        "unitId",
                        "dialNumber",
                        "buildingId",
                        "siteId",
                        "role"
                      ],
                      "properties": {
                        "unitId": {
                          "type": "string",
                          "format": "uuid"
                        },
                        "dialNumber": {
                          "type": "string"
                        },
                        "buildingId": {
                          "type": "string",
                          "format": "uuid"
                        },
                        "siteId": {
                          "type": "string",
                          "format": "uuid"
                        },
                        "role": {
                          "type": "string",
                          "enum": [
                            "owner",
                            "tenant",
                            "occupant"
                          ]
                        }
                      }
                    }
                  }
                }
              },
              "Login": {
                "type": "object",
                "required": [
                  "tenant",
                  "email",
                  "password"
                ],
                "properties": {
                  "tenant": {
                    "type": "string"
                  },
                  "email": {
                    "type": "string"
                  },
                  "password": {
                    "type": "string"
                  }
                }
              },
              "RefreshToken": {
                "type": "object",
                "required": [
                  "refreshToken"
                ],
                "properties": {
                  "refreshToken": {
                    "type": "string"
                  }
                }
              },
              "Password": {
                "type": "object",
                "required": [
                  "password"
                ],
                "properties": {
                  "password": {
                    "type": "string",
                    "minLength": 12,
                    "maxLength": 256
                  }
                }
              },
              "Tokens": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "accessToken",
                  "tokenType",
                  "expiresIn",
                  "refreshToken",
                  "role",
                  "tenantId",
                  "personId"
                ],
                "properties": {
                  "accessToken": {
                    "type": "string"
                  },
                  "tokenType": {
                    "const": "Bearer"
                  },
                  "expiresIn": {
                    "type": "integer",
                    "minimum": 1
                  },
                  "refreshToken": {
                    "type": "string"
                  },
                  "role": {
                    "type": "string"
                  },
                  "tenantId": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "personId": {
                    "type": "string",
                    "format": "uuid"
                  }
                }
              },
              "PeoplePage": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "people"
                ],
                "properties": {
                  "people": {
                    "type": "array",
                    "items": {
                      "$ref": "#/components/schemas/Person"
                    }
                  },
                  "nextCursor": {
                    "type": "string"
                  }
                }
              },
              "Problem": {
                "type": "object",
                "required": [
                  "type",
                  "title",
                  "status"
                ],
                "properties": {
                  "type": {
                    "type": "string",
                    "pattern": "^urn:gatehouse:problem:[a-z0-9-]+$"
                  },
                  "title": {
                    "type": "string"
                  },
                  "status": {
                    "type": "integer",
                    "minimum": 400,
                    "maximum": 599
                  },
                  "detail": {
                    "type": "string"
                  },
                  "instance": {
                    "type": "string"
                  },
                  "errors": {
                    "type": "array",
                    "items": {
                      "type": "object",
                      "required": [
                        "field",
                        "message"
                      ],
                      "properties": {
                        "field": {
                          "type": "string"
                        },
                        "message": {
                          "type": "string"
                        }
                      }
                    }
                  }
                }
              },
              "KeySet": {
                "type": "object",
                "required": [
                  "keys"
                ],
                "properties": {
                  "keys": {
                    "type": "array",
                    "items": {
                      "type": "object",
                      "required": [
                        "kty",
                        "crv",
                        "x",
                        "kid",
                        "alg",
                        "use"
                      ],
                      "properties": {
                        "kty": {
                          "const": "OKP"
                        },
                        "crv": {
                          "const": "Ed25519"
                        },
                        "x": {
                          "type": "string"
                        },
                        "kid": {
                          "type": "string"
                        },
                        "alg": {
                          "const": "EdDSA"
                        },
                        "use": {
                          "const": "sig"
                        }
                      }
                    }
                  }
                }
              },
              "Site": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "id",
                  "name",
                  "timeZone",
                  "sipDomain",
                  "version"
                ],
                "properties": {
                  "id": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "name": {
                    "type": "string"
                  },
                  "timeZone": {
                    "type": "string"
                  },
                  "sipDomain": {
                    "type": "string"
                  },
                  "version": {
                    "type": "integer",
                    "minimum": 1
                  }
                }
              },
              "SiteCreate": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "name",
                  "timeZone",
                  "sipDomain"
                ],
                "properties": {
                  "name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 200,
                    "pattern": "^[^\\s\\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?$"
                  },
                  "timeZone": {
                    "type": "string",
                    "maxLength": 64,
                    "examples": [
                      "Europe/Berlin"
                    ]
                  },
                  "sipDomain": {
                    "type": "string",
                    "maxLength": 253,
                    "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$"
                  }
                }
              },
              "SitePatch": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                  "name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 200,
                    "pattern": "^[^\\s\\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?$"
                  },
                  "timeZone": {
                    "type": "string",
                    "maxLength": 64,
                    "examples": [
                      "Europe/Berlin"
                    ]
                  }
                }
              },
              "SitesPage": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "sites"
                ],
                "properties": {
                  "sites": {
                    "type": "array",
                    "items": {
                      "$ref": "#/components/schemas/Site"
                    }
                  },
                  "nextCursor": {
                    "type": "string"
                  }
                }
              },
              "Building": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "id",
                  "siteId",
                  "name",
                  "version"
                ],
                "properties": {
                  "id": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "siteId": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "name": {
                    "type": "string"
                  },
                  "version": {
                    "type": "integer",
                    "minimum": 1
                  }
                }
              },
              "BuildingCreate": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "name"
                ],
                "properties": {
                  "name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 200,
                    "pattern": "^[^\\s\\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?$"
                  }
                }
              },
              "BuildingPatch": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "name"
                ],
                "properties": {
                  "name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 200,
                    "pattern": "^[^\\s\\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?$"
                  }
                }
              },
              "BuildingsPage": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "buildings"
                ],
                "properties": {
                  "buildings": {
                    "type": "array",
                    "items": {
                      "$ref": "#/components/schemas/Building"
                    }
                  },
                  "nextCursor": {
                    "type": "string"
                  }
                }
              },
              "Unit": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "id",
                  "siteId",
                  "buildingId",
                  "dialNumber",
                  "ringSeconds",
                  "version"
                ],
                "properties": {
                  "id": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "siteId": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "buildingId": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "dialNumber": {
                    "type": "string"
                  },
                  "floor": {
                    "type": "string"
                  },
                  "ringSeconds": {
                    "type": "integer",
                    "minimum": 5,
                    "maximum": 120
                  },
                  "version": {
                    "type": "integer",
                    "minimum": 1
                  },
                  "residents": {
                    "type": "array",
                    "items": {
                      "type": "object",
                      "additionalProperties": false,
                      "required": [
                        "personId",
                        "role"
                      ],
                      "properties": {
                        "personId": {
                          "type": "string",
                          "format": "uuid"
                        },
                        "role": {
                          "type": "string",
                          "enum": [
                            "owner",
                            "tenant",
                            "occupant"
                          ]
                        }
                      }
                    }
                  }
                }
              },
              "UnitCreate": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "buildingId",
                  "dialNumber"
                ],
                "properties": {
                  "buildingId": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "dialNumber": {
                    "type": "string",
                    "pattern": "^[0-9A-Za-z]{1,16}$"
                  },
                  "floor": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "maxLength": 16
                  },
                  "ringSeconds": {
                    "type": "integer",
                    "minimum": 5,
                    "maximum": 120
                  }
                }
              },
              "UnitPatch": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                  "buildingId": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "dialNumber": {
                    "type": "string",
                    "pattern": "^[0-9A-Za-z]{1,16}$"
                  },
                  "floor": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "maxLength": 16
                  },
                  "ringSeconds": {
                    "type": "integer",
                    "minimum": 5,
                    "maximum": 120
                  }
                }
              },
              "UnitsPage": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "units"
                ],
                "properties": {
                  "units": {
                    "type": "array",
                    "items": {
                      "$ref": "#/components/schemas/Unit"
                    }
                  },
                  "nextCursor": {
                    "type": "string"
                  }
                }
              },
              "Door": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "id",
                  "siteId",
                  "name",
                  "kind",
                  "version"
                ],
                "properties": {
                  "id": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "siteId": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "buildingId": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "name": {
                    "type": "string"
                  },
                  "kind": {
                    "type": "string",
                    "enum": [
                      "door",
                      "gate"
                    ]
                  },
                  "version": {
                    "type": "integer",
                    "minimum": 1
                  }
                }
              },
              "DoorCreate": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "name"
                ],
                "properties": {
                  "name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 200,
                    "pattern": "^[^\\s\\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?$"
                  },
                  "kind": {
                    "type": "string",
                    "enum": [
                      "door",
                      "gate"
                    ]
                  },
                  "buildingId": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "format": "uuid"
                  }
                }
              },
              "DoorsPage": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "doors"
                ],
                "properties": {
                  "doors": {
                    "type": "array",
                    "items": {
                      "$ref": "#/components/schemas/Door"
                    }
                  },
                  "nextCursor": {
                    "type": "string"
                  }
                }
              },
              "Fallbacks": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "steps"
                ],
                "properties": {
                  "buildingId": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "format": "uuid"
                  },
                  "steps": {
                    "type": "array",
                    "maxItems": 20,
                    "items": {
                      "type": "object",
                      "additionalProperties": false,
                      "properties": {
                        "staffPersonId": {
                          "type": "string",
                          "format": "uuid"
                        },
                        "number": {
                          "type": "string",
                          "pattern": "^\\+[1-9][0-9]{6,14}$"
                        },
                        "ringSeconds": {
                          "type": "integer",
                          "minimum": 5,
                          "maximum": 120
                        },
                        "hours": {
                          "type": "string",
                          "enum": [
                            "always",
                            "business",
                            "after_hours"
                          ],
                          "description": "When the step rings against the site's call hours (access control's /sites/{site}/call-hours): always (the default), only within them, or only outside them."
                        }
                      }
                    }
                  }
                }
              },
              "Residence": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "role"
                ],
                "properties": {
                  "role": {
                    "type": "string",
                    "enum": [
                      "owner",
                      "tenant",
                      "occupant"
                    ]
                  }
                }
              },
              "DeviceKind": {
                "type": "string",
                "enum": [
                  "door_station",
                  "sip_phone",
                  "indoor_monitor"
                ]
              },
              "Device": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "id",
                  "siteId",
                  "kind",
                  "name",
                  "sipUsername",
                  "sipRealm",
                  "online",
                  "version",
                  "createdAt"
                ],
                "properties": {
                  "id": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "siteId": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "kind": {
                    "$ref": "#/components/schemas/DeviceKind"
                  },
                  "name": {
                    "type": "string"
                  },
                  "vendor": {
                    "type": "string",
                    "enum": [
                      "2n",
                      "akuvox",
                      "doorbird",
                      "aiphone",
                      "generic"
                    ]
                  },
                  "model": {
                    "type": "string"
                  },
                  "doorId": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "unitId": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "personId": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "sipUsername": {
                    "type": "string"
                  },
                  "sipRealm": {
                    "type": "string"
                  },
                  "sipPassword": {
                    "type": "string",
                    "description": "Only in the answer that made it."
                  },
                  "controlURL": {
                    "type": "string"
                  },
                  "online": {
                    "type": "boolean"
                  },
                  "lastSeenAt": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "revokedAt": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "version": {
                    "type": "integer",
                    "minimum": 1
                  },
                  "createdAt": {
                    "type": "string",
                    "format": "date-time"
                  }
                }
              },
              "DeviceCreate": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "siteId",
                  "kind",
                  "name"
                ],
                "properties": {
                  "siteId": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "kind": {
                    "$ref": "#/components/schemas/DeviceKind"
                  },
                  "name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 200,
                    "pattern": "^[^\\s\\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?$"
                  },
                  "vendor": {
                    "type": "string",
                    "enum": [
                      "2n",
                      "akuvox",
                      "doorbird",
                      "aiphone",
                      "generic"
                    ]
                  },
                  "model": {
                    "type": "string",
                    "maxLength": 100
                  },
                  "doorId": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "unitId": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "personId": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "sipUsername": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9._-]{3,64}$"
                  },
                  "controlURL": {
                    "type": "string",
                    "format": "uri",
                    "maxLength": 500
                  }
                }
              },
              "DevicesPage": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "devices"
                ],
                "properties": {
                  "devices": {
                    "type": "array",
                    "items": {
                      "$ref": "#/components/schemas/Device"
                    }
                  },
                  "nextCursor": {
                    "type": "string"
                  }
                }
              },
              "APIKey": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "id",
                  "name",
                  "domains",
                  "createdAt"
                ],
                "properties": {
                  "id": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "name": {
                    "type": "string"
                  },
                  "domains": {
                    "type": "array",
                    "items": {
                      "type": "string",
                      "enum": [
                        "access",
                        "signaling",
                        "media",
                        "inference",
                        "identity",
                        "audit",
                        "system"
                      ]
                    }
                  },
                  "createdAt": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "lastUsedAt": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "revokedAt": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "key": {
                    "type": "string",
                    "description": "Only in the answer that made the key."
                  }
                }
              },
              "APIKeyCreate": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "name",
                  "domains"
                ],
                "properties": {
                  "name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 200,
                    "pattern": "^[^\\s\\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?$"
                  },
                  "domains": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 7,
                    "items": {
                      "type": "string",
                      "enum": [
                        "access",
                        "signaling",
                        "media",
                        "inference",
                        "identity",
                        "audit",
                        "system"
                      ]
                    }
                  }
                }
              },
              "APIKeysPage": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "apiKeys"
                ],
                "properties": {
                  "apiKeys": {
                    "type": "array",
                    "items": {
                      "$ref": "#/components/schemas/APIKey"
                    }
                  }
                }
              },
              "APIKeyToken": {
                "type": "object",
                "required": [
                  "apiKey"
                ],
                "properties": {
                  "apiKey": {
                    "type": "string"
                  }
                }
              },
              "IntegratorToken": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "accessToken",
                  "tokenType",
                  "expiresIn",
                  "role",
                  "tenantId",
                  "domains"
                ],
                "properties": {
                  "accessToken": {
                    "type": "string"
                  },
                  "tokenType": {
                    "const": "Bearer"
                  },
                  "expiresIn": {
                    "type": "integer",
                    "minimum": 1
                  },
                  "role": {
                    "const": "integrator"
                  },
                  "tenantId": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "domains": {
                    "type": "array",
                    "items": {
                      "type": "string",
                      "enum": [
                        "access",
                        "signaling",
                        "media",
                        "inference",
                        "identity",
                        "audit",
                        "system"
                      ]
                    }
                  }
                }
              },
              "ImportJob": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "id",
                  "status",
                  "dryRun",
                  "done",
                  "total",
                  "createdAt"
                ],
                "properties": {
                  "id": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "status": {
                    "type": "string",
                    "enum": [
                      "queued",
                      "running",
                      "succeeded",
                      "failed"
                    ]
                  },
                  "dryRun": {
                    "type": "boolean"
                  },
                  "phase": {
                    "type": "string"
                  },
                  "done": {
                    "type": "integer",
                    "minimum": 0
                  },
                  "total": {
                    "type": "integer",
                    "minimum": 0
                  },
                  "result": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": [
                      "rows",
                      "sites",
                      "buildings",
                      "units",
                      "people",
                      "memberships",
                      "dryRun"
                    ],
                    "properties": {
                      "rows": {
                        "type": "integer",
                        "minimum": 0
                      },
                      "sites": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": [
                          "created",
                          "updated",
                          "unchanged"
                        ],
                        "properties": {
                          "created": {
                            "type": "integer",
                            "minimum": 0
                          },
                          "updated": {
                            "type": "integer",
                            "minimum": 0
                          },
                          "unchanged": {
                            "type": "integer",
                            "minimum": 0
                          }
                        }
                      },
                      "buildings": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": [
                          "created",
                          "updated",
                          "unchanged"
                        ],
                        "properties": {
                          "created": {
                            "type": "integer",
                            "minimum": 0
                          },
                          "updated": {
                            "type": "integer",
                            "minimum": 0
                          },
                          "unchanged": {
                            "type": "integer",
                            "minimum": 0
                          }
                        }
                      },
                      "units": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": [
                          "created",
                          "updated",
                          "unchanged"
                        ],
                        "properties": {
                          "created": {
                            "type": "integer",
                            "minimum": 0
                          },
                          "updated": {
                            "type": "integer",
                            "minimum": 0
                          },
                          "unchanged": {
                            "type": "integer",
                            "minimum": 0
                          }
                        }
                      },
                      "people": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": [
                          "created",
                          "updated",
                          "unchanged"
                        ],
                        "properties": {
                          "created": {
                            "type": "integer",
                            "minimum": 0
                          },
                          "updated": {
                            "type": "integer",
                            "minimum": 0
                          },
                          "unchanged": {
                            "type": "integer",
                            "minimum": 0
                          }
                        }
                      },
                      "memberships": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": [
                          "created",
                          "updated",
                          "unchanged"
                        ],
                        "properties": {
                          "created": {
                            "type": "integer",
                            "minimum": 0
                          },
                          "updated": {
                            "type": "integer",
                            "minimum": 0
                          },
                          "unchanged": {
                            "type": "integer",
                            "minimum": 0
                          }
                        }
                      },
                      "dryRun": {
                        "type": "boolean"
                      }
                    }
                  },
                  "problems": {
                    "type": "array",
                    "items": {
                      "type": "object",
                      "required": [
                        "line",
                        "reason"
                      ],
                      "properties": {
                        "line": {
                          "type": "integer"
                        },
                        "field": {
                          "type": "string"
                        },
                        "reason": {
                          "type": "string"
                        }
                      }
                    }
                  },
                  "error": {
                    "type": "string"
                  },
                  "createdAt": {
                    "type": "string",
                    "format": "date-time"
                  },
                  "finishedAt": {
                    "type": "string",
                    "format": "date-time"
                  }
                }
              },
              "Tenant": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "id",
                  "slug",
                  "name",
                  "defaultTimeZone",
                  "version",
                  "createdAt"
                ],
                "properties": {
                  "id": {
                    "type": "string",
                    "format": "uuid"
                  },
                  "slug": {
                    "type": "string",
                    "pattern": "^[a-z0-9][a-z0-9-]{1,62}$"
                  },
                  "name": {
                    "type": "string"
                  },
                  "defaultTimeZone": {
                    "type": "string"
                  },
                  "version": {
                    "type": "integer",
                    "minimum": 1
                  },
                  "createdAt": {
                    "type": "string",
                    "format": "date-time"
                  }
                }
              },
              "TenantCreate": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "slug",
                  "name"
                ],
                "properties": {
                  "slug": {
                    "type": "string",
                    "pattern": "^[a-z0-9][a-z0-9-]{1,62}$",
                    "description": "People log in with it; fixed once created, never reused."
                  },
                  "name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 200,
                    "pattern": "^[^\\s\\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?$"
                  },
                  "defaultTimeZone": {
                    "type": "string",
                    "maxLength": 64,
                    "examples": [
                      "Europe/Berlin"
                    ],
                    "description": "An IANA time zone; new sites start from it (default UTC)."
                  }
                }
              },
              "TenantPatch": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                  "name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 200,
                    "pattern": "^[^\\s\\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?$"
                  },
                  "defaultTimeZone": {
                    "type": "string",
                    "maxLength": 64,
                    "examples": [
                      "Europe/Berlin"
                    ],
                    "description": "An IANA time zone; new sites start from it (default UTC)."
                  }
                }
              },
              "TenantsPage": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "tenants"
                ],
                "properties": {
                  "tenants": {
                    "type": "array",
                    "items": {
                      "$ref": "#/components/schemas/Tenant"
                    }
                  },
                  "nextCursor": {
                    "type": "string"
                  }
                }
              },
              "DoorPatch": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                  "name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 200,
                    "pattern": "^[^\\s\\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?$"
                  },
                  "kind": {
                    "type": "string",
                    "enum": [
                      "door",
                      "gate"
                    ]
                  },
                  "buildingId": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "format": "uuid",
                    "description": "A building of the door's site; null: shared by the site."
                  }
                }
              },
              "GuestCreate": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "displayName"
                ],
                "properties": {
                  "displayName": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 200,
                    "pattern": "^[^\\s\\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?$"
                  },
                  "email": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "format": "email",
                    "maxLength": 254
                  },
                  "phone": {
                    "type": [
                      "string",
                      "null"
                    ],
                    "pattern": "^[+0-9 ()./-]{3,32}$"
                  },
                  "validUntil": {
                    "type": "string",
                    "format": "date-time",
                    "description": "After now, at most 30 days ahead; default 24 hours."
                  }
                }
              },
              "GuestsPage": {
                "type": "object",
                "additionalProperties": false,
                "required": [
                  "guests"
                ],
                "properties": {
                  "guests": {
                    "type": "array",
                    "items": {
                      "$ref": "#/components/schemas/Person"
                    }
                  }
                }
              }
            }
          }
        }
        """#
}
