import Foundation

/// The course's published acceptance case (`acceptance/official-case.md`) as plain data, independent of the
/// engine's types: the engine tests, the HTTP acceptance test and `chargepile demo` all replay it.
public enum OfficialCase {
    public enum Action: Equatable, Sendable {
        /// `(A,Vn,F|T,kWh)`: a new request; `mode` is "F" or "T".
        case submit(driver: String, mode: String, kWh: Decimal)
        /// `(A,Vn,O,0)`: the car leaves (cancel, or end charging).
        case leave(driver: String)
        /// `(B,pile,O,0)`: the pile fails (set to `repair`).
        case pileFails(pileID: Int)
        /// `(B,pile,O,1)`: the pile is back (`on`).
        case pileRecovers(pileID: Int)
        /// `(C,Vn,O,kWh)`: change the amount, same mode (fails unless the car is still in the waiting area).
        case changeAmount(driver: String, kWh: Decimal)
    }

    public struct Event: Equatable, Sendable {
        /// Station-local wall time "HH:mm" on the day of the case.
        public let time: String
        public let action: Action
    }

    /// A published pile cell: the car charging, kWh received so far, fee so far (charging + service).
    public struct PileCell: Equatable, Sendable {
        public let pileID: Int
        public let driver: String
        public let chargedKWh: Decimal
        public let fee: Decimal

        public init(pileID: Int, driver: String, chargedKWh: Decimal, fee: Decimal) {
            self.pileID = pileID
            self.driver = driver
            self.chargedKWh = chargedKWh
            self.fee = fee
        }
    }

    /// A published waiting-area entry, in arrival order.
    public struct WaitingCell: Equatable, Sendable {
        public let driver: String
        public let mode: String
        public let kWh: Decimal

        public init(driver: String, mode: String, kWh: Decimal) {
            self.driver = driver
            self.mode = mode
            self.kWh = kWh
        }
    }

    /// The cells published for a time, read right after that time's event.
    public struct Expectation: Sendable {
        public let time: String
        /// nil: not published. Published pile cells list every car charging at that time.
        public let piles: [PileCell]?
        /// nil: not published.
        public let waiting: [WaitingCell]?
    }

    public static let timeZoneIdentifier = "Asia/Shanghai"
    /// Any date works; the case starts at 06:00 station time and its last car finishes at 01:35 the next day.
    public static let date = (year: 2024, month: 5, day: 20)
    public static let fastPiles = [1, 2]
    public static let slowPiles = [3, 4, 5]
    public static let lastCompletion = (dayOffset: 1, time: "01:35")

    /// Pile names in the table: fast1 = F1 = pile 1, fast2 = F2 = 2, slow1 = T1 = 3, slow2 = T2 = 4, slow3 = T3 = 5.
    static let pileIDsByName = ["F1": 1, "F2": 2, "T1": 3, "T2": 4, "T3": 5]

    /// Verbatim from the published case.
    static let table = """
    06:00 (A,V1,T,40)   06:05 (A,V2,T,30)   06:10 (A,V3,F,100)  06:15 (A,V4,F,120)  06:20 (A,V2,O,0)
    06:25 (A,V5,T,20)   06:30 (A,V6,T,20)   06:35 (A,V7,F,110)  06:40 (A,V8,T,20)   06:45 (A,V9,F,105)
    06:50 (A,V10,T,10)  06:55 (A,V11,F,110) 07:00 (A,V12,F,90)  07:05 (A,V13,F,110) 07:10 (A,V14,F,95)
    07:15 (A,V15,T,10)  07:20 (A,V16,F,60)  07:25 (A,V17,T,10)  07:30 (A,V18,T,7.5) 07:35 (A,V19,F,75)
    07:40 (A,V20,F,95)  07:45 (A,V21,F,95)  07:50 (A,V22,F,70)  07:55 (A,V23,F,80)  08:00 (A,V24,T,5)
    08:20 (A,V25,T,15)  08:25 (B,T1,O,0)    08:30 (A,V26,T,20)  08:35 (A,V27,T,25)  08:50 (B,F1,O,0)
    09:00 (A,V28,F,30)  09:10 (A,V1,O,0)    09:15 (B,T1,O,1)    09:20 (A,V27,O,0)   09:25 (C,V21,O,35)
    09:30 (A,V19,O,0)   09:35 (A,V28,O,0)   09:40 (C,V23,O,40)  09:50 (A,V29,T,30)  09:55 (C,V14,O,30)
    10:00 (A,V30,T,10)  10:50 (B,F1,O,1)
    """

    /// "HH:mm" station time on the day of the case (or `dayOffset` days later).
    public static func stationTime(_ clock: String, dayOffset: Int = 0) -> Date {
        let parts = clock.split(separator: ":").compactMap { Int($0) }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZoneIdentifier)!
        return calendar.date(from: DateComponents(year: date.year, month: date.month, day: date.day + dayOffset,
                                                  hour: parts[0], minute: parts[1]))!
    }

    public static let events: [Event] = table.split(whereSeparator: \.isWhitespace).pairs().map { time, tuple in
        Event(time: String(time), action: action(String(tuple)))
    }

    public static let expectations: [Expectation] = [
        Expectation(time: "06:00", piles: [PileCell(pileID: 3, driver: "V1", chargedKWh: 0, fee: 0)], waiting: nil),
        Expectation(time: "06:05", piles: [
            PileCell(pileID: 3, driver: "V1", chargedKWh: Decimal(string: "0.83")!, fee: 1),
            PileCell(pileID: 4, driver: "V2", chargedKWh: 0, fee: 0),
        ], waiting: nil),
        Expectation(time: "07:05", piles: nil, waiting: [WaitingCell(driver: "V13", mode: "F", kWh: 110)]),
        Expectation(time: "07:10", piles: nil, waiting: [
            WaitingCell(driver: "V13", mode: "F", kWh: 110), WaitingCell(driver: "V14", mode: "F", kWh: 95),
        ]),
        // V15 goes straight to a slow pile.
        Expectation(time: "07:15", piles: nil, waiting: [
            WaitingCell(driver: "V13", mode: "F", kWh: 110), WaitingCell(driver: "V14", mode: "F", kWh: 95),
        ]),
    ]

    private static func action(_ tuple: String) -> Action {
        let fields = tuple.dropFirst().dropLast().split(separator: ",").map(String.init)
        precondition(fields.count == 4, "malformed event \(tuple)")
        let amount = Decimal(string: fields[3])!
        switch (fields[0], fields[2]) {
        case ("A", "O"): return .leave(driver: fields[1])
        case ("A", let mode): return .submit(driver: fields[1], mode: mode, kWh: amount)
        case ("B", _): return amount == 0 ? .pileFails(pileID: pileIDsByName[fields[1]]!) : .pileRecovers(pileID: pileIDsByName[fields[1]]!)
        case ("C", _): return .changeAmount(driver: fields[1], kWh: amount)
        default: preconditionFailure("unknown event \(tuple)")
        }
    }
}

private extension Array {
    /// [a, b, c, d] → [(a, b), (c, d)]
    func pairs() -> [(Element, Element)] {
        stride(from: 0, to: count - 1, by: 2).map { (self[$0], self[$0 + 1]) }
    }
}
