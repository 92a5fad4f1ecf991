import ChargingDomain
import Foundation

/// Latency samples in milliseconds, summarised by nearest-rank percentiles.
struct BenchLatencies: Sendable {
    private(set) var milliseconds: [Double] = []

    init() {}

    mutating func append(_ duration: Duration) {
        milliseconds.append(duration.inMilliseconds)
    }

    mutating func append(contentsOf other: BenchLatencies) {
        milliseconds += other.milliseconds
    }

    var count: Int { milliseconds.count }

    /// The nearest-rank percentile, `fraction` in (0, 1].
    func percentile(_ fraction: Double) -> Double {
        guard !milliseconds.isEmpty else { return .nan }
        let sorted = milliseconds.sorted()
        let rank = Swift.max(1, Int((fraction * Double(sorted.count)).rounded(.up)))
        return sorted[min(rank, sorted.count) - 1]
    }

    var p50: Double { percentile(0.50) }
    var p90: Double { percentile(0.90) }
    var p99: Double { percentile(0.99) }
    var max: Double { milliseconds.max() ?? .nan }

    static func format(_ milliseconds: Double) -> String {
        String(format: milliseconds < 10 ? "%.3f" : "%.1f", milliseconds)
    }

    /// `p50 … | p90 … | p99 … | max …` cells for a table row.
    var cells: [String] { [p50, p90, p99, max].map(Self.format) }
}

/// Pads cells to the widths of a header, for the plain-text tables the benchmarks print.
enum BenchTable {
    static func print(header: [String], rows: [[String]]) {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = Swift.max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            let padded = cells.enumerated().map { index, cell in
                cell + String(repeating: " ", count: Swift.max(0, widths[index] - cell.count))
            }
            // The last column is not padded: no trailing spaces.
            return (padded.dropLast() + cells.suffix(1)).joined(separator: " | ")
        }
        Swift.print(line(header))
        Swift.print(line(widths.map { String(repeating: "-", count: $0) }))
        for row in rows { Swift.print(line(row)) }
    }
}
