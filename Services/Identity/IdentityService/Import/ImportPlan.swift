import Foundation

/// A resident's role in a unit.
package enum ResidentRole: String, Sendable, Hashable, CaseIterable, Codable {
    case owner, tenant, occupant
}

/// One valid row of a provisioning CSV.
package struct ImportRow: Sendable, Hashable {
    package struct Resident: Sendable, Hashable {
        package var name: String
        /// Lower-cased: the natural key of a person within a tenant.
        package var email: String
        package var phone: String?
        package var role: ResidentRole
    }

    package var line: Int
    package var site: String
    package var building: String
    package var unit: String
    package var floor: String?
    package var resident: Resident?
}

/// Something wrong with one line (or the header, line 1) of an import.
package struct ImportProblem: Sendable, Hashable, Codable, CustomStringConvertible {
    package var line: Int
    package var field: String?
    package var reason: String
    package var description: String { "line \(self.line)\(self.field.map { " (\($0))" } ?? ""): \(self.reason)" }
}

/// The validated content of a provisioning CSV: rows to apply, or every problem found.
package struct ImportPlan: Sendable {
    package static let columns = ["site", "building", "unit", "floor", "resident_name", "resident_email", "resident_phone", "role"]
    /// Rows per file, at most: a bigger roll-out is split into several files.
    package static let maxRows = 100_000
    package static let maxNameLength = 200

    package var rows: [ImportRow] = []
    package var problems: [ImportProblem] = []

    package var isValid: Bool { self.problems.isEmpty }

    /// Validates a parsed CSV. Every problem is reported, not only the first.
    package init(records: [CSVReader.Record]) {
        guard let header = records.first else {
            self.problems = [ImportProblem(line: 1, field: nil, reason: "the file is empty: a header row is required")]
            return
        }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        var position: [String: Int] = [:]
        for (index, name) in names.enumerated() {
            if !Self.columns.contains(name) {
                self.problems.append(ImportProblem(line: 1, field: name, reason: "unknown column"))
            } else if position[name] != nil {
                self.problems.append(ImportProblem(line: 1, field: name, reason: "column appears twice"))
            }
            position[name] = index
        }
        for column in Self.columns where position[column] == nil {
            self.problems.append(ImportProblem(line: 1, field: column, reason: "missing column"))
        }
        guard self.problems.isEmpty else { return }
        if records.count - 1 > Self.maxRows {
            self.problems.append(ImportProblem(line: 1, field: nil, reason: "more than \(Self.maxRows) rows"))
            return
        }

        var unitsSeen: [String: ImportRow] = [:]  // "site\u{0}unit" → first row
        var peopleSeen: [String: ImportRow] = [:]  // email → first row
        var membershipsSeen: Set<String> = []
        for record in records.dropFirst() {
            func value(_ column: String) -> String {
                let index = position[column]!
                return index < record.fields.count ? record.fields[index].trimmingCharacters(in: .whitespaces) : ""
            }
            var rowProblems: [ImportProblem] = []
            func problem(_ field: String, _ reason: String) {
                rowProblems.append(ImportProblem(line: record.line, field: field, reason: reason))
            }
            if record.fields.count != names.count {
                problem("row", "has \(record.fields.count) fields, the header has \(names.count)")
            }
            let site = value("site")
            let building = value("building")
            let unit = value("unit")
            let floor = value("floor")
            for (field, text) in [("site", site), ("building", building)] {
                if text.isEmpty { problem(field, "must not be empty") }
                if text.count > Self.maxNameLength { problem(field, "longer than \(Self.maxNameLength) characters") }
            }
            if unit.isEmpty {
                problem("unit", "must not be empty")
            } else if unit.count > 16 || !unit.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) {
                problem("unit", "must be 1–16 letters or digits (it is dialled)")
            }
            if floor.count > 16 { problem("floor", "longer than 16 characters") }

            let name = value("resident_name")
            let email = value("resident_email").lowercased()
            let phone = value("resident_phone")
            let roleText = value("role").lowercased()
            var resident: ImportRow.Resident?
            if !(name.isEmpty && email.isEmpty && phone.isEmpty && roleText.isEmpty) {
                if name.isEmpty { problem("resident_name", "must not be empty when a resident is given") }
                if name.count > Self.maxNameLength { problem("resident_name", "longer than \(Self.maxNameLength) characters") }
                if !Self.isEmail(email) { problem("resident_email", "is not an email address") }
                if !phone.isEmpty && !Self.isPhone(phone) { problem("resident_phone", "is not a phone number (digits, spaces, + - ( ))") }
                let role = ResidentRole(rawValue: roleText)
                if role == nil { problem("role", "must be owner, tenant or occupant") }
                if let role { resident = .init(name: name, email: email, phone: phone.isEmpty ? nil : phone, role: role) }
            }
            let row = ImportRow(line: record.line, site: site, building: building, unit: unit, floor: floor.isEmpty ? nil : floor, resident: resident)

            if rowProblems.isEmpty {
                let unitKey = "\(site)\u{0}\(unit)"
                if let first = unitsSeen[unitKey] {
                    if first.building != building || first.floor != row.floor {
                        problem("unit", "line \(first.line) puts unit \(unit) of \(site) in another building or floor")
                    }
                } else {
                    unitsSeen[unitKey] = row
                }
                if let resident {
                    if let first = peopleSeen[resident.email], first.resident?.name != resident.name || first.resident?.phone != resident.phone {
                        problem("resident_email", "line \(first.line) gives \(resident.email) another name or phone")
                    } else if peopleSeen[resident.email] == nil {
                        peopleSeen[resident.email] = row
                    }
                    if !membershipsSeen.insert("\(unitKey)\u{0}\(resident.email)").inserted {
                        problem("resident_email", "this resident is listed twice for unit \(unit)")
                    }
                }
            }
            if rowProblems.isEmpty { self.rows.append(row) } else { self.problems.append(contentsOf: rowProblems) }
        }
    }

    static func isEmail(_ text: String) -> Bool {
        guard text.count <= 254, let at = text.firstIndex(of: "@") else { return false }
        let local = text[..<at]
        let domain = text[text.index(after: at)...]
        return !local.isEmpty && domain.contains(".") && !domain.hasPrefix(".") && !domain.hasSuffix(".")
            && !text.contains(where: { $0.isWhitespace || $0 == "," }) && domain.firstIndex(of: "@") == nil
    }

    static func isPhone(_ text: String) -> Bool {
        let digits = text.filter(\.isNumber).count
        return (5...20).contains(digits) && text.allSatisfy { $0.isNumber || " +-()".contains($0) }
    }
}
