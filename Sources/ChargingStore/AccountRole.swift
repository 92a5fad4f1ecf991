/// Who a token speaks for; a token of one role is refused everywhere else.
public enum AccountRole: String, Sendable, Codable, CaseIterable {
    case admin, pile, driver
}
