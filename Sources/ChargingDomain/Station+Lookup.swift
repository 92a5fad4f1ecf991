/// Where an active request is.
enum RequestLocation: Equatable {
    case waiting
    case displaced
    case atPile(pileIndex: Int, position: Int)
}

extension Station {
    func pileIndex(id: Int) -> Int? {
        piles.firstIndex { $0.id == id }
    }

    func requestIndex(id: Int64) -> Int? {
        requests.firstIndex { $0.id == id }
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
