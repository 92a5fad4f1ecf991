public enum PileStatus: String, Codable, Sendable, CaseIterable {
    case on, off, repair, offline

    /// Only a pile that is `on` charges cars and takes them into its queue.
    public var isWorking: Bool { self == .on }
}
