import Foundation

extension PileFleet {
    /// Parses a pile selection: a range `1-5`, a list `1,3,4` (ranges allowed inside: `1-3,7`),
    /// or a bare count `N` meaning piles 1…N. Returns nil for anything else.
    public static func pileIDs(parsing spec: String) -> [Int]? {
        let trimmed = spec.trimmingCharacters(in: .whitespaces)
        if let count = Int(trimmed) {
            return count >= 1 ? Array(1...count) : nil
        }
        var ids: [Int] = []
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map {
                Int($0.trimmingCharacters(in: .whitespaces))
            }
            switch bounds.count {
            case 1:
                guard let id = bounds[0], id >= 1 else { return nil }
                ids.append(id)
            case 2:
                guard let low = bounds[0], let high = bounds[1], low >= 1, low <= high else { return nil }
                ids.append(contentsOf: low...high)
            default:
                return nil
            }
        }
        var seen = Set<Int>()
        return ids.filter { seen.insert($0).inserted }
    }
}
