/// Where an active request is.
enum RequestLocation: Equatable {
    case waiting
    case displaced
    case atPile(pileIndex: Int, position: Int)
}

extension Station {
    func pileIndex(id: Int) -> Int? {
        Self.index(of: id, in: piles, id: \.id)
    }

    func requestIndex(id: Int64) -> Int? {
        Self.index(of: id, in: requests, id: \.id)
    }

    /// Piles and active requests are kept in id order: a binary search finds one among a thousand in ten
    /// steps. Should an array ever be out of order, a miss is looked up again one by one.
    private static func index<Element, ID: Comparable>(of wanted: ID, in elements: [Element], id: (Element) -> ID) -> Int? {
        var low = elements.startIndex, high = elements.endIndex
        while low < high {
            let middle = (low + high) / 2
            let found = id(elements[middle])
            if found == wanted { return middle }
            if found < wanted { low = middle + 1 } else { high = middle }
        }
        return elements.firstIndex { id($0) == wanted }
    }

    func activeRequestIndex(driver: String) -> Int? {
        requests.firstIndex { $0.driver == driver }
    }

    func request(_ id: Int64) -> ChargingRequest {
        guard let index = requestIndex(id: id) else { preconditionFailure("request \(id) is not active") }
        return requests[index]
    }

    func location(of id: Int64) -> RequestLocation? {
        if waiting.contains(id) { return .waiting }
        if displaced.contains(id) { return .displaced }
        for pileIndex in piles.indices {
            if let position = piles[pileIndex].queue.firstIndex(of: id) {
                return .atPile(pileIndex: pileIndex, position: position)
            }
        }
        return nil
    }

    func workingPileIndices(_ mode: ChargingMode) -> [Int] {
        piles.indices.filter { piles[$0].mode == mode && piles[$0].status.isWorking }
    }

    func displacedIDs(_ mode: ChargingMode) -> [Int64] {
        displaced.filter { request($0).mode == mode }
    }

    func sortedByNumber(_ ids: [Int64]) -> [Int64] {
        ids.sorted { request($0).number < request($1).number }
    }

    var serviceFeePrice: EnergyPrice {
        EnergyPrice(yuanPerKWh: settings.serviceFeePerKWh) ?? EnergyPrice(tenThousandthsOfYuan: 0)
    }
}
