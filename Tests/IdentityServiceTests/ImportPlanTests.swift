import IdentityService
import Testing

@Suite struct CSVReaderTests {
    func parse(_ text: String) throws -> [[String]] {
        try CSVReader().parse(Array(text.utf8)).map(\.fields)
    }

    @Test func quotingPerRFC4180() throws {
        let rows = try self.parse("a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n")
        #expect(rows == [["a", "b", "c"], ["x, y", "say \"hi\"", "two\nlines"]])
    }

    @Test func lineNumbersCountEmbeddedLineBreaks() throws {
        let records = try CSVReader().parse(Array("h\n\"a\nb\"\nc\n".utf8))
        #expect(records.map(\.line) == [1, 2, 4])
    }

    @Test func skipsBOMAndBlankLinesAndKeepsEmptyFields() throws {
        #expect(try self.parse("\u{FEFF}a,b\n\n,\n") == [["a", "b"], ["", ""]])
    }

    @Test(arguments: ["a\"b,c\n", "\"open,c\n", "\"a\"b,c\n"])
    func rejectsMalformedQuoting(text: String) {
        #expect(throws: CSVReader.Error.self) { try self.parse(text) }
    }

    @Test func rejectsInvalidUTF8AndOversizedFields() {
        #expect(throws: CSVReader.Error.self) { try CSVReader().parse([0x61, 0xFF, 0x0A]) }
        var reader = CSVReader()
        reader.maxFieldBytes = 4
        #expect(throws: CSVReader.Error.self) { try reader.parse(Array("abcdef\n".utf8)) }
    }

    @Test func escapeRoundTrips() throws {
        let fields = ["plain", "with,comma", "with \"quote\"", "multi\nline"]
        let line = fields.map(CSVReader.escape).joined(separator: ",") + "\n"
        #expect(try self.parse(line) == [fields])
    }
}

@Suite struct ImportPlanTests {
    let header = "site,building,unit,floor,resident_name,resident_email,resident_phone,role\n"

    func plan(_ body: String) throws -> ImportPlan {
        ImportPlan(records: try CSVReader().parse(Array((self.header + body).utf8)))
    }

    @Test func validRowsWithAndWithoutResidents() throws {
        let plan = try self.plan(
            """
            Park View,Tower A,101,1,Ada Lovelace,ADA@example.org,+49 30 1234567,owner
            Park View,Tower A,102,1,,,,
            """
        )
        #expect(plan.problems.isEmpty)
        #expect(plan.rows.count == 2)
        #expect(plan.rows[0].resident?.email == "ada@example.org")
        #expect(plan.rows[1].resident == nil)
    }

    @Test func reportsEveryBadRowWithItsLineAndReason() throws {
        let plan = try self.plan(
            """
            Park View,Tower A,101,1,Ada,ada@example.org,,owner
            ,Tower A,1 02,1,,,,
            Park View,Tower A,103,1,Bob,not-an-email,,landlord
            Park View,Tower B,101,1,,,,
            """
        )
        #expect(plan.rows.count == 1)
        let byLine = Dictionary(grouping: plan.problems, by: \.line)
        #expect(byLine[3]?.map(\.field) == ["site", "unit"])
        #expect(byLine[4]?.map(\.field) == ["resident_email", "role"])
        #expect(byLine[5]?.first?.reason.contains("line 2") == true)
    }

    @Test func headerMustNameEveryColumnOnce() throws {
        let plan = ImportPlan(records: try CSVReader().parse(Array("site,building,unit,unit,colour\n".utf8)))
        #expect(plan.problems.allSatisfy { $0.line == 1 })
        #expect(Set(plan.problems.compactMap(\.field)).isSuperset(of: ["colour", "unit", "floor", "role"]))
        #expect(ImportPlan(records: []).problems.count == 1)
    }

    @Test func theSamePersonMustNotDisagreeWithThemselves() throws {
        let plan = try self.plan(
            """
            P,A,101,,Ada,ada@example.org,,owner
            P,A,102,,Ada L.,ada@example.org,,owner
            P,A,101,,Ada,ada@example.org,,occupant
            """
        )
        #expect(plan.problems.map(\.line) == [3, 4])
    }
}
