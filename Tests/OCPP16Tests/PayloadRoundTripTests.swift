import Foundation
import Testing
import OCPP16

/// Every typed request and response encodes into a payload its schema accepts and decodes back unchanged.
@Suite struct PayloadRoundTripTests {
    private static let now = ChargePointExamples.date("2026-11-30T20:00:00.123Z")

    private func roundTrip<Request: OCPPRequest>(_ request: Request, _ response: Request.Response) throws {
        let requestPayload = try JSONValue(encoding: request)
        try Request.action.validateRequest(requestPayload)
        #expect(try requestPayload.decode(Request.self) == request)

        let responsePayload = try JSONValue(encoding: response)
        try Request.action.validateResponse(responsePayload)
        #expect(try responsePayload.decode(Request.Response.self) == response)
    }

    @Test func chargePointActions() throws {
        for (_, call) in ChargePointExamples.all {
            switch call {
            case .authorize(let request):
                try roundTrip(request, AuthorizeResponse(idTagInfo: IdTagInfo(status: .accepted, expiryDate: Self.now, parentIdTag: "FLEET-1")))
            case .bootNotification(let request):
                try roundTrip(request, BootNotificationResponse(status: .accepted, currentTime: Self.now, interval: 300))
            case .dataTransfer(let request):
                try roundTrip(request, DataTransferResponse(status: .unknownMessageId, data: "none"))
            case .diagnosticsStatusNotification(let request):
                try roundTrip(request, DiagnosticsStatusNotificationResponse())
            case .firmwareStatusNotification(let request):
                try roundTrip(request, FirmwareStatusNotificationResponse())
            case .heartbeat(let request):
                try roundTrip(request, HeartbeatResponse(currentTime: Self.now))
            case .meterValues(let request):
                try roundTrip(request, MeterValuesResponse())
            case .startTransaction(let request):
                try roundTrip(request, StartTransactionResponse(transactionId: 1001, idTagInfo: IdTagInfo(status: .concurrentTx)))
            case .statusNotification(let request):
                try roundTrip(request, StatusNotificationResponse())
            case .stopTransaction(let request):
                try roundTrip(request, StopTransactionResponse(idTagInfo: IdTagInfo(status: .expired)))
                try roundTrip(request, StopTransactionResponse())
            case .securityEventNotification(let request):
                try roundTrip(request, SecurityEventNotificationResponse())
            case .logStatusNotification(let request):
                try roundTrip(request, LogStatusNotificationResponse())
            case .signedFirmwareStatusNotification(let request):
                try roundTrip(request, SignedFirmwareStatusNotificationResponse())
            case .signCertificate(let request):
                try roundTrip(request, SignCertificateResponse(status: .accepted))
            }
        }
    }

    @Test func centralSystemActions() throws {
        try roundTrip(ChangeAvailabilityRequest(connectorId: 0, type: .inoperative), ChangeAvailabilityResponse(status: .scheduled))
        try roundTrip(
            RemoteStartTransactionRequest(
                idTag: "04E2A1B2C3D480", connectorId: 1,
                chargingProfile: ChargingProfile(
                    chargingProfileId: 42, stackLevel: 0, chargingProfilePurpose: .txProfile, chargingProfileKind: .absolute,
                    chargingSchedule: ChargingSchedule(
                        chargingRateUnit: .amperes,
                        chargingSchedulePeriod: [
                            ChargingSchedulePeriod(startPeriod: 0, limit: 21.4, numberPhases: 3),
                            ChargingSchedulePeriod(startPeriod: 1800, limit: 6),
                        ],
                        duration: 3600, startSchedule: Self.now, minChargingRate: 6.1
                    ),
                    transactionId: 1001, recurrencyKind: .daily, validFrom: Self.now, validTo: Self.now
                )
            ),
            RemoteStartTransactionResponse(status: .accepted)
        )
        try roundTrip(RemoteStartTransactionRequest(idTag: "T"), RemoteStartTransactionResponse(status: .rejected))
        try roundTrip(RemoteStopTransactionRequest(transactionId: 1001), RemoteStopTransactionResponse(status: .accepted))
        try roundTrip(ResetRequest(type: .soft), ResetResponse(status: .rejected))
        try roundTrip(
            GetConfigurationRequest(key: ["HeartbeatInterval", "Bogus"]),
            GetConfigurationResponse(
                configurationKey: [ConfigurationKey(key: "HeartbeatInterval", readonly: false, value: "300"), ConfigurationKey(key: "ChargeProfileMaxStackLevel", readonly: true)],
                unknownKey: ["Bogus"]
            )
        )
        try roundTrip(GetConfigurationRequest(), GetConfigurationResponse())
        try roundTrip(ChangeConfigurationRequest(key: "MeterValueSampleInterval", value: "60"), ChangeConfigurationResponse(status: .rebootRequired))
        try roundTrip(ClearCacheRequest(), ClearCacheResponse(status: .accepted))
        try roundTrip(UnlockConnectorRequest(connectorId: 2), UnlockConnectorResponse(status: .unlockFailed))
        try roundTrip(DataTransferRequest(vendorId: "com.chargepile"), DataTransferResponse(status: .accepted))
        try roundTrip(TriggerMessageRequest(requestedMessage: .statusNotification, connectorId: 1), TriggerMessageResponse(status: .notImplemented))
    }

    @Test func otherProfilesActions() throws {
        let schedule = ChargingSchedule(chargingRateUnit: .watts, chargingSchedulePeriod: [ChargingSchedulePeriod(startPeriod: 0, limit: 7400.5)])
        try roundTrip(ReserveNowRequest(connectorId: 1, expiryDate: Self.now, idTag: "04E2A1B2C3D480", reservationId: 17, parentIdTag: "FLEET-1"),
                      ReserveNowResponse(status: .occupied))
        try roundTrip(CancelReservationRequest(reservationId: 17), CancelReservationResponse(status: .rejected))
        try roundTrip(
            SendLocalListRequest(listVersion: 3, updateType: .differential, localAuthorizationList: [
                AuthorizationData(idTag: "A1", idTagInfo: IdTagInfo(status: .accepted, expiryDate: Self.now, parentIdTag: "P")),
                AuthorizationData(idTag: "B2"),
            ]),
            SendLocalListResponse(status: .versionMismatch))
        try roundTrip(SendLocalListRequest(listVersion: 1, updateType: .full), SendLocalListResponse(status: .accepted))
        try roundTrip(GetLocalListVersionRequest(), GetLocalListVersionResponse(listVersion: -1))
        try roundTrip(GetDiagnosticsRequest(location: "ftp://diag.example/up", retries: 3, retryInterval: 60, startTime: Self.now, stopTime: Self.now),
                      GetDiagnosticsResponse(fileName: "diag-cp1.zip"))
        try roundTrip(GetDiagnosticsRequest(location: "https://diag.example/up"), GetDiagnosticsResponse())
        try roundTrip(UpdateFirmwareRequest(location: "https://fw.example/cp-2.1.4.bin", retrieveDate: Self.now, retries: 2, retryInterval: 30),
                      UpdateFirmwareResponse())
        try roundTrip(
            SetChargingProfileRequest(connectorId: 0, csChargingProfiles: ChargingProfile(
                chargingProfileId: 5, stackLevel: 1, chargingProfilePurpose: .chargePointMaxProfile, chargingProfileKind: .recurring,
                chargingSchedule: schedule, recurrencyKind: .weekly)),
            SetChargingProfileResponse(status: .notSupported))
        try roundTrip(ClearChargingProfileRequest(id: 5, connectorId: 0, chargingProfilePurpose: .txDefaultProfile, stackLevel: 1),
                      ClearChargingProfileResponse(status: .unknown))
        try roundTrip(ClearChargingProfileRequest(), ClearChargingProfileResponse(status: .accepted))
        try roundTrip(GetCompositeScheduleRequest(connectorId: 1, duration: 3600, chargingRateUnit: .amperes),
                      GetCompositeScheduleResponse(status: .accepted, connectorId: 1, scheduleStart: Self.now, chargingSchedule: schedule))
        try roundTrip(GetCompositeScheduleRequest(connectorId: 1, duration: 60), GetCompositeScheduleResponse(status: .rejected))
    }

    @Test func securityExtensionActions() throws {
        let hash = CertificateHashData(hashAlgorithm: .sha256, issuerNameHash: "a1b2", issuerKeyHash: "c3d4", serialNumber: "0f")
        try roundTrip(CertificateSignedRequest(certificateChain: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"),
                      CertificateSignedResponse(status: .rejected))
        try roundTrip(DeleteCertificateRequest(certificateHashData: hash), DeleteCertificateResponse(status: .notFound))
        try roundTrip(ExtendedTriggerMessageRequest(requestedMessage: .signChargePointCertificate, connectorId: 0),
                      ExtendedTriggerMessageResponse(status: .accepted))
        try roundTrip(GetInstalledCertificateIdsRequest(certificateType: .centralSystemRootCertificate),
                      GetInstalledCertificateIdsResponse(status: .accepted, certificateHashData: [hash]))
        try roundTrip(GetInstalledCertificateIdsRequest(certificateType: .manufacturerRootCertificate),
                      GetInstalledCertificateIdsResponse(status: .notFound))
        try roundTrip(GetLogRequest(log: LogParameters(remoteLocation: "https://logs.example/up", oldestTimestamp: Self.now, latestTimestamp: Self.now),
                                    logType: .securityLog, requestId: 7, retries: 1, retryInterval: 10),
                      GetLogResponse(status: .acceptedCanceled, filename: "security.log"))
        try roundTrip(InstallCertificateRequest(certificateType: .manufacturerRootCertificate, certificate: "PEM"),
                      InstallCertificateResponse(status: .failed))
        try roundTrip(SignedUpdateFirmwareRequest(requestId: 8, firmware: SignedFirmware(
                          location: "https://fw.example/cp.bin", retrieveDateTime: Self.now, signingCertificate: "PEM", signature: "c2ln",
                          installDateTime: Self.now), retries: 2, retryInterval: 30),
                      SignedUpdateFirmwareResponse(status: .invalidCertificate))
    }

    @Test func datesAreUTCWithMillisecondsAndZ() throws {
        let payload = try JSONValue(encoding: HeartbeatResponse(currentTime: ChargePointExamples.date("2026-11-30T21:30:00.5+01:30")))
        #expect(payload == ["currentTime": "2026-11-30T20:00:00.500Z"])
    }

    @Test func absentOptionalsAreLeftOut() throws {
        let payload = try JSONValue(encoding: StatusNotificationRequest(connectorId: 0, errorCode: .noError, status: .available))
        #expect(payload == ["connectorId": 0, "errorCode": "NoError", "status": "Available"])
    }

    @Test func outboundFrames() throws {
        #expect(try OCPPOutbound.callResult(id: "19223201", BootNotificationResponse(status: .accepted, currentTime: Self.now, interval: 300))
            == #"[3,"19223201",{"currentTime":"2026-11-30T20:00:00.123Z","interval":300,"status":"Accepted"}]"#)
        #expect(try OCPPOutbound.callResult(id: "2", StatusNotificationResponse()) == #"[3,"2",{}]"#)
        #expect(try OCPPOutbound.call(id: "c-1", ChangeAvailabilityRequest(connectorId: 1, type: .operative))
            == #"[2,"c-1","ChangeAvailability",{"connectorId":1,"type":"Operative"}]"#)
        #expect(OCPPOutbound.callError(id: "3", code: .occurenceConstraintViolation, description: "say \"why\"")
            == #"[4,"3","OccurenceConstraintViolation","say \"why\"",{}]"#)
    }

    @Test func aChargingLimitJSONCannotCarryIsThrownNotSent() {
        let request = RemoteStartTransactionRequest(
            idTag: "T",
            chargingProfile: ChargingProfile(
                chargingProfileId: 1, stackLevel: 0, chargingProfilePurpose: .txProfile, chargingProfileKind: .relative,
                chargingSchedule: ChargingSchedule(chargingRateUnit: .watts, chargingSchedulePeriod: [ChargingSchedulePeriod(startPeriod: 0, limit: .nan)])
            )
        )
        #expect(throws: (any Error).self) { try OCPPOutbound.call(id: "1", request) }
    }

    @Test func errorCodesHaveThe16Spellings() {
        #expect(OCPPErrorCode.allCases.map(\.rawValue) == [
            "NotImplemented", "NotSupported", "InternalError", "ProtocolError", "SecurityError", "FormationViolation",
            "PropertyConstraintViolation", "OccurenceConstraintViolation", "TypeConstraintViolation", "GenericError",
        ])
    }

    @Test func actionDirections() {
        let fromChargePoint = OCPPAction.allCases.filter(\.isSentByChargePoint).map(\.rawValue)
        #expect(Set(fromChargePoint) == [
            "Authorize", "BootNotification", "DataTransfer", "DiagnosticsStatusNotification", "FirmwareStatusNotification",
            "Heartbeat", "MeterValues", "StartTransaction", "StatusNotification", "StopTransaction",
            "LogStatusNotification", "SecurityEventNotification", "SignCertificate", "SignedFirmwareStatusNotification",
        ])
        let fromCentralSystem = OCPPAction.allCases.filter(\.isSentByCentralSystem).map(\.rawValue)
        #expect(Set(fromCentralSystem) == [
            "ChangeAvailability", "RemoteStartTransaction", "RemoteStopTransaction", "Reset", "GetConfiguration",
            "ChangeConfiguration", "ClearCache", "UnlockConnector", "DataTransfer", "TriggerMessage",
            "GetDiagnostics", "UpdateFirmware", "SendLocalList", "GetLocalListVersion", "ReserveNow", "CancelReservation",
            "SetChargingProfile", "ClearChargingProfile", "GetCompositeSchedule",
            "ExtendedTriggerMessage", "InstallCertificate", "DeleteCertificate", "GetInstalledCertificateIds", "GetLog",
            "SignedUpdateFirmware", "CertificateSigned",
        ])
        // Every action of mobilityhouse/ocpp 2.1.0's v16 schemas, both directions: 39 actions.
        #expect(OCPPAction.allCases.count == 39)
    }
}
