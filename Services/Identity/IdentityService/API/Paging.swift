import Foundation
import GatehouseAuth
import Hummingbird
import ServiceKit

/// `limit` and `cursor` of a list route. The cursor is the base64url of the last item's sort key;
/// lists fetch `limit + 1` items, and ``next(_:key:)`` trims the extra one into the next cursor.
struct Paging<Key: Sendable>: Sendable {
    var limit: Int
    /// The sort key to continue after, from the cursor.
    var after: Key?

    /// Reads both parameters, adding a field error for each bad one (a limit outside
    /// 1…`maxLimit`, a cursor `key` does not accept).
    init(
        _ request: Request,
        defaultLimit: Int,
        maxLimit: Int,
        errors: inout [Problem.FieldError],
        key: (String) -> Key?
    ) {
        let query = request.uri.queryParameters
        self.limit = defaultLimit
        if let text = query["limit"] {
            if let value = Int(text), (1...maxLimit).contains(value) {
                self.limit = value
            } else {
                errors.append(.init(field: "limit", message: "must be an integer from 1 to \(maxLimit)"))
            }
        }
        if let cursor = query["cursor"] {
            self.after = Base64URL.decode(String(cursor)).flatMap { key(String(decoding: $0, as: UTF8.self)) }
            if self.after == nil { errors.append(.init(field: "cursor", message: "is not a cursor this API returned")) }
        }
    }

    /// Drops the item beyond the page and returns the cursor after the page's last item (`nil`: no
    /// more pages).
    func next<Item>(_ items: inout [Item], key: (Item) -> String) -> String? {
        guard items.count > self.limit else { return nil }
        items.removeLast(items.count - self.limit)
        return items.last.map { Base64URL.encode(Array(key($0).utf8)) }
    }
}
