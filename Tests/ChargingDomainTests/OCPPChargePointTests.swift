import Foundation
import HTTPTypes
import OCPP16
import PileSimulator
import Testing

/// The simulated OCPP 1.6J charge point's message handling, without a server: CSMS frames in, frames out.
@Suite("Simulated OCPP 1.6J charge point")
struct OCPPChargePointTests {
    typealias Machine = OCPPChargePointMachine

    let start = ContinuousClock.now
    let startDate = Date(timeIntervalSince1970: 1_780_000_000)

    func at(_ seconds: Double) -> ContinuousClock.Instant { start + .seconds(seconds) }

    func machine(
        powerKW: Double = 10, turnedOn: Bool = true, meterInterval: Duration? = nil, initialRegisterWh: Double = 0
    ) -> Machine {
        Machine(.init(chargePointID: "7", powerKW: powerKW, startsAvailable: turnedOn, meterInterval: meterInterval,
                      initialRegisterWh: initialRegisterWh),
                epoch: (start, startDate))
    }

    /// The frames among `outputs`, in order.
    func sent(_ outputs: [Machine.Output]) throws -> [OCPPFrame] {
        try outputs.compactMap { output -> OCPPFrame? in
            guard case .send(let text) = output else { return nil }
            return try OCPPFrame.parse(text)
        }
    }

    /// The one CALL among `outputs`: its id, action and payload.
    func call(_ outputs: [Machine.Output], _ action: OCPPAction, sourceLocation: SourceLocation = #_sourceLocation) throws
        -> (id: String, payload: JSONValue)
    {
        let calls = try sent(outputs).compactMap { frame -> (String, String, JSONValue)? in
            guard case .call(let id, let name, let payload) = frame else { return nil }
            return (id, name, payload)
        }
        try #require(calls.count == 1, "expected one \(action.rawValue), sent \(calls.map(\.1))", sourceLocation: sourceLocation)
        #expect(calls[0].1 == action.rawValue, sourceLocation: sourceLocation)
        #expect(throws: Never.self, sourceLocation: sourceLocation) { try action.validateRequest(calls[0].2) }
        return (calls[0].0, calls[0].2)
    }

    /// The CALLRESULT among `outputs` for CALL `id`.
    func result(_ outputs: [Machine.Output], id: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONValue {
        let results = try sent(outputs).compactMap { frame -> JSONValue? in
            guard case .callResult(let resultID, let payload) = frame, resultID == id else { return nil }
            return payload
        }
        return try #require(results.first, "no CALLRESULT for \(id) in \(outputs)", sourceLocation: sourceLocation)
    }

    func csms(_ id: String, _ action: OCPPAction, _ payload: JSONValue) -> String {
        OCPPFrame.call(id: id, action: action.rawValue, payload: payload).text
    }

    func answer(_ id: String, _ payload: JSONValue) -> String {
        OCPPFrame.callResult(id: id, payload: payload).text
    }

    /// Connected, Boot Accepted (heartbeat every `interval` s), the first StatusNotification answered.
    func booted(_ machine: inout Machine, at seconds: Double = 0, interval: Int = 600) throws {
        let boot = try call(machine.connected(now: at(seconds)), .bootNotification)
        let status = try call(
            machine.received(answer(boot.id, ["status": "Accepted", "currentTime": "2026-11-30T20:00:00Z",
                                              "interval": .number(String(interval))]),
                             now: at(seconds)),
            .statusNotification)
        #expect(try sent(machine.received(answer(status.id, [:]), now: at(seconds))).isEmpty)
    }

    /// RemoteStart for `idTag`, StartTransaction answered with `transactionID`, StatusNotification Charging answered.
    func charging(_ machine: inout Machine, idTag: String = "TAG-1", transactionID: Int = 42, at seconds: Double) throws -> JSONValue {
        let outputs = machine.received(csms("rs", .remoteStartTransaction, ["idTag": .string(idTag)]), now: at(seconds))
        #expect(try result(outputs, id: "rs") == ["status": "Accepted"])
        let start = try call(outputs, .startTransaction)
        let charging = try call(
            machine.received(answer(start.id, ["transactionId": .number(String(transactionID)), "idTagInfo": ["status": "Accepted"]]),
                             now: at(seconds)),
            .statusNotification)
        #expect(charging.payload["status"] == "Charging")
        _ = machine.received(answer(charging.id, [:]), now: at(seconds))
        return start.payload
    }

    @Test("Boot: vendor, model, serial and firmware; then Available on connector 1, then Heartbeat every interval")
    func bootStatusHeartbeat() throws {
        var machine = machine()
        let boot = try call(machine.connected(now: at(0)), .bootNotification)
        #expect(boot.payload == [
            "chargePointVendor": "chargepile", "chargePointModel": "sim", "chargePointSerialNumber": "SIM-7",
            "firmwareVersion": "chargepile-sim 1.0",
        ])
        #expect(!machine.isRegistered)
        let outputs = machine.received(
            answer(boot.id, ["status": "Accepted", "currentTime": "2026-11-30T20:00:00Z", "interval": 60]), now: at(0))
        #expect(outputs.contains(.event(.booted(.accepted, interval: 60))))
        let status = try call(outputs, .statusNotification)
        #expect(status.payload["connectorId"] == 1)
        #expect(status.payload["status"] == "Available")
        #expect(status.payload["errorCode"] == "NoError")
        #expect(machine.isRegistered)
        #expect(machine.heartbeatInterval == .seconds(60))

        // One CALL in flight: nothing before the StatusNotification is answered.
        #expect(try sent(machine.tick(now: at(30))).isEmpty)
        _ = machine.received(answer(status.id, [:]), now: at(30))
        #expect(machine.nextWakeup == at(60))
        let heartbeat = try call(machine.tick(now: at(60)), .heartbeat)
        #expect(heartbeat.payload == [:])
        _ = machine.received(answer(heartbeat.id, ["currentTime": "2026-11-30T20:01:00Z"]), now: at(60))
        #expect(machine.nextWakeup == at(120))
    }

    @Test("Boot Pending: nothing else is sent, Boot again after the interval")
    func bootPending() throws {
        var machine = machine()
        let boot = try call(machine.connected(now: at(0)), .bootNotification)
        let outputs = machine.received(
            answer(boot.id, ["status": "Pending", "currentTime": "2026-11-30T20:00:00Z", "interval": 5]), now: at(0))
        #expect(try sent(outputs).isEmpty)
        #expect(try sent(machine.tick(now: at(4))).isEmpty)
        _ = try call(machine.tick(now: at(5)), .bootNotification)
        // A CSMS call is still answered meanwhile, but no StatusNotification goes out before the Boot is Accepted.
        let unavailable = machine.received(csms("ca", .changeAvailability, ["connectorId": 0, "type": "Inoperative"]), now: at(6))
        #expect(try result(unavailable, id: "ca") == ["status": "Accepted"])
        #expect(try sent(unavailable).count == 1)
    }

    @Test("Not turned on: Unavailable until ChangeAvailability Operative; Inoperative makes it Unavailable again")
    func availability() throws {
        var machine = machine(turnedOn: false)
        let boot = try call(machine.connected(now: at(0)), .bootNotification)
        let first = try call(
            machine.received(answer(boot.id, ["status": "Accepted", "currentTime": "2026-11-30T20:00:00Z", "interval": 60]),
                             now: at(0)),
            .statusNotification)
        #expect(first.payload["status"] == "Unavailable")
        _ = machine.received(answer(first.id, [:]), now: at(0))

        let on = machine.received(csms("a1", .changeAvailability, ["connectorId": 0, "type": "Operative"]), now: at(1))
        #expect(try result(on, id: "a1") == ["status": "Accepted"])
        let available = try call(on, .statusNotification)
        #expect(available.payload["status"] == "Available")
        #expect(machine.status == .available)
        _ = machine.received(answer(available.id, [:]), now: at(1))

        let off = machine.received(csms("a2", .changeAvailability, ["connectorId": 1, "type": "Inoperative"]), now: at(2))
        #expect(try result(off, id: "a2") == ["status": "Accepted"])
        #expect(try call(off, .statusNotification).payload["status"] == "Unavailable")

        let otherConnector = machine.received(csms("a3", .changeAvailability, ["connectorId": 2, "type": "Operative"]), now: at(3))
        #expect(try result(otherConnector, id: "a3") == ["status": "Rejected"])
    }

    @Test("RemoteStart → StartTransaction with the register → Charging → MeterValues → RemoteStop → StopTransaction → Available")
    func session() throws {
        var machine = machine(powerKW: 30, meterInterval: .seconds(60), initialRegisterWh: 1234)
        try booted(&machine)
        let start = try charging(&machine, transactionID: 42, at: 10)
        #expect(start["connectorId"] == 1)
        #expect(start["idTag"] == "TAG-1")
        #expect(start["meterStart"] == 1234)
        #expect(start["timestamp"] == .string(Self.timestamp(startDate.addingTimeInterval(10))))
        #expect(machine.transaction?.transactionID == 42)

        // 60 s at 30 kW = 500 Wh.
        let meter = try call(machine.tick(now: at(70)), .meterValues)
        #expect(meter.payload["connectorId"] == 1)
        #expect(meter.payload["transactionId"] == 42)
        let values = try meter.payload.decode(MeterValuesRequest.self).meterValue
        #expect(values.latestEnergyActiveImportRegisterWh == 1734)
        #expect(values.first?.sampledValue.first?.measurand == .energyActiveImportRegister)
        #expect(values.first?.sampledValue.first?.unit == .wh)
        _ = machine.received(answer(meter.id, [:]), now: at(70))

        // Another RemoteStart while charging, and a RemoteStop for another transaction, are refused.
        #expect(try result(machine.received(csms("rs2", .remoteStartTransaction, ["idTag": "TAG-2"]), now: at(80)), id: "rs2")
            == ["status": "Rejected"])
        #expect(try result(machine.received(csms("st0", .remoteStopTransaction, ["transactionId": 41]), now: at(80)), id: "st0")
            == ["status": "Rejected"])

        // 120 s at 30 kW = 1000 Wh.
        let stopping = machine.received(csms("st", .remoteStopTransaction, ["transactionId": 42]), now: at(130))
        #expect(try result(stopping, id: "st") == ["status": "Accepted"])
        let stop = try call(stopping, .stopTransaction)
        #expect(stop.payload["transactionId"] == 42)
        #expect(stop.payload["meterStop"] == 2234)
        #expect(stop.payload["reason"] == "Remote")
        #expect(stop.payload["idTag"] == "TAG-1")
        #expect(stopping.contains(.event(.transactionStopped(transactionID: 42, meterStopWh: 2234, reason: .remote))))
        #expect(machine.transaction == nil)
        #expect(machine.status == .available)

        // The StatusNotification waits for the StopTransaction's answer, and no more MeterValues come.
        let available = try call(machine.received(answer(stop.id, ["idTagInfo": ["status": "Accepted"]]), now: at(131)), .statusNotification)
        #expect(available.payload["status"] == "Available")
        _ = machine.received(answer(available.id, [:]), now: at(131))
        #expect(machine.nextWakeup == at(600)) // the heartbeat only
        #expect(machine.registerWh(at: at(1000)) == 2234)
    }

    @Test("SetChargingProfile: a TxDefaultProfile in W (or A at 230 V × phases) holds the register to its limit from then on; Clear lifts it")
    func chargingProfile() throws {
        var machine = machine(powerKW: 30)
        try booted(&machine)
        _ = try charging(&machine, transactionID: 42, at: 0)
        func profile(_ connector: Int, purpose: String = "TxDefaultProfile", unit: String = "W", limit: String,
                     transactionID: Int? = nil) -> JSONValue {
            var profile: [String: JSONValue] = [
                "chargingProfileId": 3, "stackLevel": 0, "chargingProfilePurpose": .string(purpose), "chargingProfileKind": "Relative",
                "chargingSchedule": ["chargingRateUnit": .string(unit), "chargingSchedulePeriod": [["startPeriod": 0, "limit": .number(limit)]]],
            ]
            if let transactionID { profile["transactionId"] = .number(String(transactionID)) }
            return ["connectorId": .number(String(connector)), "csChargingProfiles": .object(profile)]
        }
        // 120 s at 30 kW, then 120 s at 6 kW: 1000 + 200 Wh.
        #expect(try result(machine.received(csms("p", .setChargingProfile, profile(0, limit: "6000")), now: at(120)), id: "p")
            == ["status": "Accepted"])
        #expect(machine.powerLimitW == 6000 && machine.powerKW == 6)
        #expect(machine.registerWh(at: at(240)) == 1200)
        // 16 A on three phases at 230 V is 11.04 kW; a limit above the charger's power leaves its power.
        #expect(try result(machine.received(csms("a", .setChargingProfile, profile(0, unit: "A", limit: "16")), now: at(240)), id: "a")
            == ["status": "Accepted"])
        #expect(machine.powerKW == 11.04)
        #expect(try result(machine.received(csms("w", .setChargingProfile, profile(0, limit: "50000")), now: at(240)), id: "w")
            == ["status": "Accepted"])
        #expect(machine.powerKW == 30)
        // Another connector, or a TxProfile for another transaction: Rejected, the limit unchanged.
        #expect(try result(machine.received(csms("c2", .setChargingProfile, profile(2, limit: "1000")), now: at(240)), id: "c2")
            == ["status": "Rejected"])
        #expect(try result(machine.received(csms("tx", .setChargingProfile, profile(1, purpose: "TxProfile", limit: "1000", transactionID: 41)),
                                            now: at(240)), id: "tx") == ["status": "Rejected"])
        #expect(machine.powerLimitW == 50000)
        #expect(try result(machine.received(csms("cl", .clearChargingProfile, [:]), now: at(240)), id: "cl") == ["status": "Accepted"])
        #expect(machine.powerLimitW == nil)
        #expect(try result(machine.received(csms("cl2", .clearChargingProfile, [:]), now: at(240)), id: "cl2") == ["status": "Unknown"])
        // Above its ChargeProfileMaxStackLevel (8): Rejected; at it, Accepted.
        func stacked(_ level: Int) -> JSONValue {
            guard case .object(var payload) = profile(0, limit: "7000"), case .object(var inner)? = payload["csChargingProfiles"] else { return nil }
            inner["stackLevel"] = .number(String(level))
            payload["csChargingProfiles"] = .object(inner)
            return .object(payload)
        }
        #expect(try result(machine.received(csms("s9", .setChargingProfile, stacked(9)), now: at(240)), id: "s9") == ["status": "Rejected"])
        #expect(machine.powerLimitW == nil)
        #expect(try result(machine.received(csms("s8", .setChargingProfile, stacked(8)), now: at(240)), id: "s8") == ["status": "Accepted"])
        #expect(machine.powerLimitW == 7000)
    }

    @Test("A Reset loses the charging profile, as the station must expect of a rebooted charger")
    func resetLosesProfile() throws {
        var machine = machine(powerKW: 30)
        try booted(&machine)
        let profile: JSONValue = ["connectorId": 0, "csChargingProfiles": [
            "chargingProfileId": 3, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Relative",
            "chargingSchedule": ["chargingRateUnit": "W", "chargingSchedulePeriod": [["startPeriod": 0, "limit": 6000]]],
        ]]
        #expect(try result(machine.received(csms("p", .setChargingProfile, profile), now: at(1)), id: "p") == ["status": "Accepted"])
        #expect(machine.powerLimitW == 6000)
        let reset = machine.received(csms("r", .reset, ["type": "Hard"]), now: at(2))
        #expect(reset.last == .reboot(.hard))
        #expect(machine.powerLimitW == nil && machine.powerKW == 30)
    }

    @Test("A session energy set from outside (the demo's model) is the StopTransaction's meterStop − meterStart")
    func sessionEnergy() throws {
        var machine = machine(powerKW: 30, initialRegisterWh: 500)
        try booted(&machine)
        _ = try charging(&machine, transactionID: 7, at: 0)
        #expect(!machine.isAwaitingAnswer)
        machine.setSessionEnergy(41_667, now: at(1))
        let stop = try call(machine.received(csms("st", .remoteStopTransaction, ["transactionId": 7]), now: at(100)), .stopTransaction)
        #expect(stop.payload["meterStop"] == 42_167)
        #expect(machine.isAwaitingAnswer)
        // The register stays there: the next session starts from it.
        #expect(machine.registerWh(at: at(1000)) == 42_167)
    }

    @Test("Without a meter interval no MeterValues are sent while charging")
    func noMeterValuesByDefault() throws {
        var machine = machine()
        try booted(&machine)
        _ = try charging(&machine, at: 1)
        #expect(machine.nextWakeup == at(600))
        let heartbeat = try call(machine.tick(now: at(600)), .heartbeat)
        _ = machine.received(answer(heartbeat.id, ["currentTime": "2026-11-30T20:01:00Z"]), now: at(600))
    }

    @Test("StartTransaction answered Invalid: StopTransaction DeAuthorized, Available again")
    func startRefused() throws {
        var machine = machine()
        try booted(&machine)
        let start = try call(machine.received(csms("rs", .remoteStartTransaction, ["idTag": "BAD"]), now: at(1)), .startTransaction)
        let refused = machine.received(answer(start.id, ["transactionId": 9, "idTagInfo": ["status": "Invalid"]]), now: at(2))
        #expect(refused.contains(.event(.transactionStarted(transactionID: 9, idTag: "BAD", meterStartWh: 0, accepted: false))))
        let stop = try call(refused, .stopTransaction)
        #expect(stop.payload["reason"] == "DeAuthorized")
        #expect(machine.transaction == nil)
        #expect(machine.status == .available)
    }

    @Test("RemoteStart on an Unavailable charger is rejected")
    func remoteStartUnavailable() throws {
        var machine = machine(turnedOn: false)
        try booted(&machine)
        let outputs = machine.received(csms("rs", .remoteStartTransaction, ["idTag": "T", "connectorId": 1]), now: at(1))
        #expect(try result(outputs, id: "rs") == ["status": "Rejected"])
        #expect(try sent(outputs).count == 1)
    }

    @Test("Inoperative while charging is Scheduled: Unavailable once the transaction stops")
    func inoperativeScheduled() throws {
        var machine = machine()
        try booted(&machine)
        _ = try charging(&machine, at: 1)
        let scheduled = machine.received(csms("ca", .changeAvailability, ["connectorId": 0, "type": "Inoperative"]), now: at(2))
        #expect(try result(scheduled, id: "ca") == ["status": "Scheduled"])
        #expect(try sent(scheduled).count == 1)
        let stop = try call(machine.received(csms("st", .remoteStopTransaction, ["transactionId": 42]), now: at(3)), .stopTransaction)
        let status = try call(machine.received(answer(stop.id, [:]), now: at(3)), .statusNotification)
        #expect(status.payload["status"] == "Unavailable")
    }

    @Test("Configuration: GetConfiguration lists known and unknown keys; ChangeConfiguration Accepted, Rejected or NotSupported")
    func configuration() throws {
        var machine = machine(meterInterval: .seconds(15))
        try booted(&machine)
        let got = try result(machine.received(
            csms("g", .getConfiguration, ["key": ["HeartbeatInterval", "MeterValueSampleInterval", "Colour"]]), now: at(1)), id: "g")
        let response = try got.decode(GetConfigurationResponse.self)
        #expect(response.configurationKey == [
            ConfigurationKey(key: "HeartbeatInterval", readonly: false, value: "600"),
            ConfigurationKey(key: "MeterValueSampleInterval", readonly: false, value: "15"),
        ])
        #expect(response.unknownKey == ["Colour"])
        #expect(throws: Never.self) { try OCPPAction.getConfiguration.validateResponse(got) }
        let all = try result(machine.received(csms("all", .getConfiguration, [:]), now: at(1)), id: "all")
        #expect((try all.decode(GetConfigurationResponse.self).configurationKey?.count ?? 0) >= 4)

        func change(_ key: String, _ value: String) throws -> JSONValue? {
            try result(machine.received(csms("c", .changeConfiguration, ["key": .string(key), "value": .string(value)]), now: at(2)), id: "c")["status"]
        }
        #expect(try change("HeartbeatInterval", "10") == "Accepted")
        #expect(machine.heartbeatInterval == .seconds(10))
        #expect(machine.nextWakeup == at(12))
        #expect(try change("HeartbeatInterval", "often") == "Rejected")
        #expect(try change("NumberOfConnectors", "2") == "Rejected")
        #expect(try change("Colour", "red") == "NotSupported")
        #expect(try change("MeterValueSampleInterval", "0") == "Accepted")
        #expect(machine.meterInterval == nil)
    }

    @Test("ClearCache Accepted, UnlockConnector Unlocked, DataTransfer UnknownVendorId")
    func simpleCalls() throws {
        var machine = machine()
        try booted(&machine)
        #expect(try result(machine.received(csms("c", .clearCache, [:]), now: at(1)), id: "c") == ["status": "Accepted"])
        #expect(try result(machine.received(csms("u", .unlockConnector, ["connectorId": 1]), now: at(1)), id: "u") == ["status": "Unlocked"])
        #expect(try result(machine.received(csms("u2", .unlockConnector, ["connectorId": 3]), now: at(1)), id: "u2") == ["status": "NotSupported"])
        #expect(try result(machine.received(csms("d", .dataTransfer, ["vendorId": "acme", "data": "x"]), now: at(1)), id: "d")
            == ["status": "UnknownVendorId"])
    }

    @Test("UpdateFirmware: answered, then Downloading, Downloaded, Installing, Installed one after the other; GetDiagnostics likewise; ReserveNow NotSupported")
    func firmwareAndDiagnostics() throws {
        var machine = machine()
        try booted(&machine)
        var outputs = machine.received(csms("uf", .updateFirmware, ["location": "https://fw.example/x.bin", "retrieveDate": "2026-11-30T20:00:00Z"]),
                                       now: at(1))
        #expect(try result(outputs, id: "uf") == [:])
        var statuses: [String] = []
        for _ in 0..<4 {
            let notification = try call(outputs, .firmwareStatusNotification)
            statuses.append(notification.payload.objectValue?["status"]?.stringValue ?? "?")
            outputs = machine.received(answer(notification.id, [:]), now: at(1))
        }
        #expect(statuses == ["Downloading", "Downloaded", "Installing", "Installed"])
        #expect(try sent(outputs).isEmpty)

        outputs = machine.received(csms("gd", .getDiagnostics, ["location": "ftp://diag.example/"]), now: at(2))
        #expect(try result(outputs, id: "gd") == ["fileName": "diagnostics-7.log"])
        let uploading = try call(outputs, .diagnosticsStatusNotification)
        #expect(uploading.payload == ["status": "Uploading"])
        #expect(try call(machine.received(answer(uploading.id, [:]), now: at(2)), .diagnosticsStatusNotification).payload == ["status": "Uploaded"])

        let refused = try sent(machine.received(csms("rn", .reserveNow, [
            "connectorId": 1, "expiryDate": "2026-11-30T21:00:00Z", "idTag": "T", "reservationId": 1,
        ]), now: at(3)))
        guard case .callError(let id, let code, _, _)? = refused.first else {
            Issue.record("expected a CALLERROR, got \(refused)")
            return
        }
        #expect(id == "rn" && code == "NotSupported")
    }

    @Test("TriggerMessage: Accepted, then the requested message")
    func triggerMessage() throws {
        var machine = machine()
        try booted(&machine)
        let status = machine.received(csms("t1", .triggerMessage, ["requestedMessage": "StatusNotification", "connectorId": 1]), now: at(1))
        #expect(try result(status, id: "t1") == ["status": "Accepted"])
        let notification = try call(status, .statusNotification)
        #expect(notification.payload["status"] == "Available")
        // The answer to the trigger precedes the triggered CALL.
        #expect(try sent(status).first?.id == "t1")
        _ = machine.received(answer(notification.id, [:]), now: at(1))

        let heartbeat = try call(machine.received(csms("t2", .triggerMessage, ["requestedMessage": "Heartbeat"]), now: at(2)), .heartbeat)
        _ = machine.received(answer(heartbeat.id, ["currentTime": "2026-11-30T20:00:02Z"]), now: at(2))

        let boot = try call(machine.received(csms("t3", .triggerMessage, ["requestedMessage": "BootNotification"]), now: at(3)), .bootNotification)
        _ = machine.received(answer(boot.id, ["status": "Accepted", "currentTime": "2026-11-30T20:00:03Z", "interval": 60]), now: at(3))

        _ = try charging(&machine, at: 4)
        let meter = try call(machine.received(csms("t4", .triggerMessage, ["requestedMessage": "MeterValues", "connectorId": 1]), now: at(364)),
                             .meterValues)
        let sample = try meter.payload.decode(MeterValuesRequest.self).meterValue.first?.sampledValue.first
        #expect(sample?.context == .trigger)
        #expect(sample?.value == "1000") // 360 s at 10 kW
        _ = machine.received(answer(meter.id, [:]), now: at(364))

        let rejected = machine.received(csms("t5", .triggerMessage, ["requestedMessage": "Heartbeat", "connectorId": 2]), now: at(365))
        #expect(try result(rejected, id: "t5") == ["status": "Rejected"])
    }

    @Test("Reset while charging: Accepted, StopTransaction SoftReset, then reboot once it is answered")
    func reset() throws {
        var machine = machine()
        try booted(&machine)
        _ = try charging(&machine, at: 1)
        let outputs = machine.received(csms("r", .reset, ["type": "Soft"]), now: at(2))
        #expect(try result(outputs, id: "r") == ["status": "Accepted"])
        let stop = try call(outputs, .stopTransaction)
        #expect(stop.payload["reason"] == "SoftReset")
        #expect(!outputs.contains(.reboot(.soft)))
        let status = try call(machine.received(answer(stop.id, [:]), now: at(2)), .statusNotification)
        #expect(machine.received(answer(status.id, [:]), now: at(2)).contains(.reboot(.soft)))

        // Idle: the reboot follows the answer at once.
        machine.closed()
        try booted(&machine, at: 3)
        let hard = machine.received(csms("r2", .reset, ["type": "Hard"]), now: at(4))
        #expect(try result(hard, id: "r2") == ["status": "Accepted"])
        #expect(hard.last == .reboot(.hard))
    }

    @Test("Frames it cannot use get the CALLERROR of OCPP 1.6; answers to nothing are dropped")
    func malformed() throws {
        var machine = machine()
        try booted(&machine)
        func error(_ text: String) throws -> (id: String, code: String)? {
            try sent(machine.received(text, now: at(1))).compactMap { frame -> (String, String)? in
                guard case .callError(let id, let code, _, _) = frame else { return nil }
                return (id, code)
            }.first
        }
        #expect(try error("not json")?.code == "FormationViolation")
        #expect(try error("not json")?.id == "-1")
        #expect(try error(#"[2,"x1","MakeCoffee",{}]"#)?.code == "NotImplemented")
        #expect(try error(#"[2,"x2","Heartbeat",{}]"#)?.code == "NotSupported")
        #expect(try error(#"[2,"x3","ChangeAvailability",{"connectorId":0}]"#)?.code == "ProtocolError")
        #expect(try error(#"[2,"x4","ChangeAvailability",{"connectorId":0,"type":"Sideways"}]"#)?.code == "FormationViolation")
        #expect(try error(#"[2,"x5","RemoteStopTransaction",{"transactionId":"1"}]"#)?.code == "TypeConstraintViolation")
        #expect(try error(#"[2,"x6"]"#)?.code == "ProtocolError")
        let late = machine.received(#"[3,"999",{}]"#, now: at(1))
        #expect(try sent(late).isEmpty)
        #expect(late.contains(.event(.rejectedFrame(#"[3,"999",{}]"#, reply: nil))))
        // Nothing changed.
        #expect(machine.status == .available)
    }

    @Test("A call with no answer times out, and the next one goes out")
    func callTimeout() throws {
        var machine = Machine(.init(chargePointID: "7", powerKW: 10, startsAvailable: true, callTimeout: .seconds(5)),
                              epoch: (start, startDate))
        try booted(&machine)
        let start = try call(machine.received(csms("rs", .remoteStartTransaction, ["idTag": "T"]), now: at(1)), .startTransaction)
        _ = start
        let timedOut = machine.tick(now: at(6))
        #expect(timedOut.contains { if case .event(.callFailed(.startTransaction, _)) = $0 { true } else { false } })
        // No transactionId will come: the transaction is given up, the connector stays Available.
        #expect(machine.transaction == nil)
        #expect(machine.status == .available)
        #expect(try sent(timedOut).isEmpty)
    }

    @Test("A StopTransaction lost with the connection is sent again after the next Boot, before the status; the register survives")
    func reconnect() throws {
        var machine = machine()
        try booted(&machine)
        _ = try charging(&machine, at: 0)
        let stop = try call(machine.received(csms("st", .remoteStopTransaction, ["transactionId": 42]), now: at(360)), .stopTransaction)
        #expect(stop.payload["meterStop"] == 1000)
        machine.closed()
        #expect(!machine.isRegistered)
        #expect(machine.nextWakeup == nil)

        let boot = try call(machine.connected(now: at(400)), .bootNotification)
        let afterBoot = machine.received(
            answer(boot.id, ["status": "Accepted", "currentTime": "2026-11-30T20:00:00Z", "interval": 60]), now: at(400))
        let again = try call(afterBoot, .stopTransaction)
        #expect(again.payload == stop.payload)
        let status = try call(machine.received(answer(again.id, [:]), now: at(400)), .statusNotification)
        #expect(status.payload["status"] == "Available")
        #expect(machine.registerWh(at: at(500)) == 1000)
    }

    @Test("Handshake: ws URL under /ocpp/, subprotocol ocpp1.6, Basic chargePointId:password")
    func handshake() throws {
        #expect(try OCPPHandshake.webSocketURL(baseURL: "http://127.0.0.1:8080/", chargePointID: "3") == "ws://127.0.0.1:8080/ocpp/3")
        #expect(try OCPPHandshake.webSocketURL(baseURL: "https://cs.example", chargePointID: "CP 01/a")
            == "wss://cs.example/ocpp/CP%2001%2Fa")
        #expect(throws: PileSimulatorError.self) { try OCPPHandshake.webSocketURL(baseURL: "ftp://x", chargePointID: "1") }
        #expect(OCPPHandshake.authorization(chargePointID: "CP-0006", password: "s3cret")
            == "Basic " + Data("CP-0006:s3cret".utf8).base64EncodedString())
        let headers = OCPPHandshake.headers(chargePointID: "1", password: "p")
        #expect(headers[.secWebSocketProtocol] == "ocpp1.6")
        #expect(headers[.authorization] == "Basic MTpw")
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}
