/// The OCPP 1.6J JSON schemas of every action (the six profiles and the security extension), written out
/// in the `Schema` DSL with each schema's properties in its own order (it decides which violation is first).
/// Enumerations come from the payload types' cases, so a valid payload always decodes.
enum OCPPSchemas {
    static func request(_ action: OCPPAction) -> Schema {
        switch action {
        case .authorize: .object(["idTag": idTag], required: ["idTag"])
        case .bootNotification:
            .object(
                [
                    "chargePointVendor": .string(maxLength: 20),
                    "chargePointModel": .string(maxLength: 20),
                    "chargePointSerialNumber": .string(maxLength: 25),
                    "chargeBoxSerialNumber": .string(maxLength: 25),
                    "firmwareVersion": .string(maxLength: 50),
                    "iccid": .string(maxLength: 20),
                    "imsi": .string(maxLength: 20),
                    "meterType": .string(maxLength: 25),
                    "meterSerialNumber": .string(maxLength: 25),
                ],
                required: ["chargePointVendor", "chargePointModel"]
            )
        case .dataTransfer:
            .object(
                ["vendorId": .string(maxLength: 255), "messageId": .string(maxLength: 50), "data": .string],
                required: ["vendorId"]
            )
        case .diagnosticsStatusNotification:
            .object(["status": .enumeration(DiagnosticsStatus.self)], required: ["status"])
        case .firmwareStatusNotification:
            .object(["status": .enumeration(FirmwareStatus.self)], required: ["status"])
        case .heartbeat: .object()
        case .meterValues:
            .object(
                [
                    "connectorId": .integer,
                    "transactionId": .integer,
                    "meterValue": .array(of: meterValue(units: UnitOfMeasure.allCases, minItems: 1), minItems: 1),
                ],
                required: ["connectorId", "meterValue"]
            )
        case .startTransaction:
            .object(
                [
                    "connectorId": .integer, "idTag": idTag, "meterStart": .integer, "reservationId": .integer,
                    "timestamp": .dateTime,
                ],
                required: ["connectorId", "idTag", "meterStart", "timestamp"]
            )
        case .statusNotification:
            .object(
                [
                    "connectorId": .integer,
                    "errorCode": .enumeration(ChargePointErrorCode.self),
                    "info": .string(maxLength: 50),
                    "status": .enumeration(ChargePointStatus.self),
                    "timestamp": .dateTime,
                    "vendorId": .string(maxLength: 255),
                    "vendorErrorCode": .string(maxLength: 50),
                ],
                required: ["connectorId", "errorCode", "status"]
            )
        case .stopTransaction:
            .object(
                [
                    "idTag": idTag,
                    "meterStop": .integer,
                    "timestamp": .dateTime,
                    "transactionId": .integer,
                    "reason": .enumeration(StopTransactionReason.self),
                    // Unlike MeterValues: no minItems, and no "Hertz" unit.
                    "transactionData": .array(of: meterValue(units: UnitOfMeasure.allCases.filter { $0 != .hertz }, minItems: 0)),
                ],
                required: ["transactionId", "timestamp", "meterStop"]
            )
        case .changeAvailability:
            .object(["connectorId": .integer, "type": .enumeration(AvailabilityType.self)], required: ["connectorId", "type"])
        case .changeConfiguration:
            .object(["key": .string(maxLength: 50), "value": .string(maxLength: 500)], required: ["key", "value"])
        case .clearCache: .object()
        case .getConfiguration: .object(["key": .array(of: .string(maxLength: 50))])
        case .remoteStartTransaction:
            .object(["connectorId": .integer, "idTag": idTag, "chargingProfile": chargingProfile], required: ["idTag"])
        case .remoteStopTransaction: .object(["transactionId": .integer], required: ["transactionId"])
        case .reset: .object(["type": .enumeration(ResetType.self)], required: ["type"])
        case .triggerMessage:
            .object(["requestedMessage": .enumeration(MessageTrigger.self), "connectorId": .integer], required: ["requestedMessage"])
        case .unlockConnector: .object(["connectorId": .integer], required: ["connectorId"])
        case .cancelReservation: .object(["reservationId": .integer], required: ["reservationId"])
        case .reserveNow:
            .object(
                ["connectorId": .integer, "expiryDate": .dateTime, "idTag": idTag, "parentIdTag": idTag, "reservationId": .integer],
                required: ["connectorId", "expiryDate", "idTag", "reservationId"]
            )
        case .sendLocalList:
            .object(
                [
                    "listVersion": .integer,
                    "localAuthorizationList": .array(of: .object(["idTag": idTag, "idTagInfo": idTagInfo], required: ["idTag"])),
                    "updateType": .enumeration(UpdateType.self),
                ],
                required: ["listVersion", "updateType"]
            )
        case .getLocalListVersion: .object()
        case .getDiagnostics:
            .object(
                ["location": .string, "retries": .integer, "retryInterval": .integer, "startTime": .dateTime, "stopTime": .dateTime],
                required: ["location"]
            )
        case .updateFirmware:
            .object(
                ["location": .string, "retries": .integer, "retrieveDate": .dateTime, "retryInterval": .integer],
                required: ["location", "retrieveDate"]
            )
        case .setChargingProfile:
            .object(["connectorId": .integer, "csChargingProfiles": chargingProfile], required: ["connectorId", "csChargingProfiles"])
        case .clearChargingProfile:
            .object([
                "id": .integer, "connectorId": .integer, "chargingProfilePurpose": .enumeration(ChargingProfilePurpose.self),
                "stackLevel": .integer,
            ])
        case .getCompositeSchedule:
            .object(
                ["connectorId": .integer, "duration": .integer, "chargingRateUnit": .enumeration(ChargingRateUnit.self)],
                required: ["connectorId", "duration"]
            )
        case .certificateSigned: .object(["certificateChain": .string(maxLength: 10000)], required: ["certificateChain"])
        case .deleteCertificate: .securityObject(["certificateHashData": certificateHashData], required: ["certificateHashData"])
        case .extendedTriggerMessage:
            .securityObject(
                ["requestedMessage": .enumeration(ExtendedMessageTrigger.self), "connectorId": .integer], required: ["requestedMessage"]
            )
        case .getInstalledCertificateIds:
            .securityObject(["certificateType": .enumeration(CertificateUse.self)], required: ["certificateType"])
        case .getLog:
            .securityObject(
                [
                    "log": .securityObject(
                        ["remoteLocation": .string(maxLength: 512), "oldestTimestamp": .dateTime, "latestTimestamp": .dateTime],
                        required: ["remoteLocation"]
                    ),
                    "logType": .enumeration(LogType.self),
                    "requestId": .integer,
                    "retries": .integer,
                    "retryInterval": .integer,
                ],
                required: ["logType", "requestId", "log"]
            )
        case .installCertificate:
            .securityObject(
                ["certificateType": .enumeration(CertificateUse.self), "certificate": .string(maxLength: 5500)],
                required: ["certificateType", "certificate"]
            )
        case .signedUpdateFirmware:
            .securityObject(
                [
                    "retries": .integer,
                    "retryInterval": .integer,
                    "requestId": .integer,
                    "firmware": .securityObject(
                        [
                            "location": .string(maxLength: 512), "retrieveDateTime": .dateTime, "installDateTime": .dateTime,
                            "signingCertificate": .string(maxLength: 5500), "signature": .string(maxLength: 800),
                        ],
                        required: ["location", "retrieveDateTime", "signingCertificate", "signature"]
                    ),
                ],
                required: ["requestId", "firmware"]
            )
        case .securityEventNotification:
            .securityObject(
                ["type": .string(maxLength: 50), "timestamp": .dateTime, "techInfo": .string(maxLength: 255)],
                required: ["type", "timestamp"]
            )
        case .logStatusNotification:
            .securityObject(["status": .enumeration(UploadLogStatus.self), "requestId": .integer], required: ["status"])
        case .signedFirmwareStatusNotification:
            .securityObject(["status": .enumeration(SignedFirmwareStatus.self), "requestId": .integer], required: ["status"])
        case .signCertificate: .securityObject(["csr": .string(maxLength: 5500)], required: ["csr"])
        }
    }

    static func response(_ action: OCPPAction) -> Schema {
        switch action {
        case .authorize: .object(["idTagInfo": idTagInfo], required: ["idTagInfo"])
        case .bootNotification:
            .object(
                ["status": .enumeration(RegistrationStatus.self), "currentTime": .dateTime, "interval": .integer],
                required: ["status", "currentTime", "interval"]
            )
        case .dataTransfer:
            .object(["status": .enumeration(DataTransferStatus.self), "data": .string], required: ["status"])
        case .diagnosticsStatusNotification, .firmwareStatusNotification, .meterValues, .statusNotification: .object()
        case .heartbeat: .object(["currentTime": .dateTime], required: ["currentTime"])
        case .startTransaction:
            .object(["idTagInfo": idTagInfo, "transactionId": .integer], required: ["idTagInfo", "transactionId"])
        case .stopTransaction: .object(["idTagInfo": idTagInfo])
        case .changeAvailability: status(AvailabilityStatus.self)
        case .changeConfiguration: status(ConfigurationStatus.self)
        case .clearCache: status(ClearCacheStatus.self)
        case .getConfiguration:
            .object([
                "configurationKey": .array(
                    of: .object(
                        ["key": .string(maxLength: 50), "readonly": .boolean, "value": .string(maxLength: 500)],
                        required: ["key", "readonly"]
                    )
                ),
                "unknownKey": .array(of: .string(maxLength: 50)),
            ])
        case .remoteStartTransaction, .remoteStopTransaction: status(RemoteStartStopStatus.self)
        case .reset: status(ResetStatus.self)
        case .triggerMessage: status(TriggerMessageStatus.self)
        case .unlockConnector: status(UnlockStatus.self)
        case .cancelReservation: status(CancelReservationStatus.self)
        case .reserveNow: status(ReservationStatus.self)
        case .sendLocalList: status(UpdateStatus.self)
        case .getLocalListVersion: .object(["listVersion": .integer], required: ["listVersion"])
        case .getDiagnostics: .object(["fileName": .string(maxLength: 255)])
        case .updateFirmware: .object()
        case .setChargingProfile: status(ChargingProfileStatus.self)
        case .clearChargingProfile: status(ClearChargingProfileStatus.self)
        case .getCompositeSchedule:
            .object(
                [
                    "status": .enumeration(GetCompositeScheduleStatus.self), "connectorId": .integer, "scheduleStart": .dateTime,
                    "chargingSchedule": chargingSchedule,
                ],
                required: ["status"]
            )
        case .certificateSigned, .signCertificate: securityStatus(GenericStatus.self)
        case .deleteCertificate: securityStatus(DeleteCertificateStatus.self)
        case .extendedTriggerMessage: securityStatus(TriggerMessageStatus.self)
        case .getInstalledCertificateIds:
            .securityObject(
                [
                    "certificateHashData": .array(of: certificateHashData, minItems: 1),
                    "status": .enumeration(GetInstalledCertificateStatus.self),
                ],
                required: ["status"]
            )
        case .getLog:
            .securityObject(["status": .enumeration(LogStatus.self), "filename": .string(maxLength: 255)], required: ["status"])
        case .installCertificate: securityStatus(InstallCertificateStatus.self)
        case .signedUpdateFirmware: securityStatus(SignedUpdateFirmwareStatus.self)
        case .securityEventNotification, .logStatusNotification, .signedFirmwareStatusNotification: .securityObject()
        }
    }

    private static func securityStatus<E: CaseIterable & RawRepresentable>(_ type: E.Type) -> Schema where E.RawValue == String {
        .securityObject(["status": .enumeration(type)], required: ["status"])
    }

    private static let certificateHashData = Schema.securityObject(
        [
            "hashAlgorithm": .enumeration(HashAlgorithm.self), "issuerNameHash": .string(maxLength: 128),
            "issuerKeyHash": .string(maxLength: 128), "serialNumber": .string(maxLength: 40),
        ],
        required: ["hashAlgorithm", "issuerNameHash", "issuerKeyHash", "serialNumber"]
    )

    private static let idTag = Schema.string(maxLength: 20)

    private static let idTagInfo = Schema.object(
        ["expiryDate": .dateTime, "parentIdTag": idTag, "status": .enumeration(AuthorizationStatus.self)],
        required: ["status"]
    )

    private static func status<E: CaseIterable & RawRepresentable>(_ type: E.Type) -> Schema where E.RawValue == String {
        .object(["status": .enumeration(type)], required: ["status"])
    }

    private static func meterValue(units: [UnitOfMeasure], minItems: Int) -> Schema {
        .object(
            [
                "timestamp": .dateTime,
                "sampledValue": .array(
                    of: .object(
                        [
                            "value": .string,
                            "context": .enumeration(ReadingContext.self),
                            "format": .enumeration(ValueFormat.self),
                            "measurand": .enumeration(Measurand.self),
                            "phase": .enumeration(Phase.self),
                            "location": .enumeration(Location.self),
                            "unit": .enumeration(units.map(\.rawValue)),
                        ],
                        required: ["value"]
                    ),
                    minItems: minItems
                ),
            ],
            required: ["timestamp", "sampledValue"]
        )
    }

    private static let chargingSchedule = Schema.object(
        [
            "duration": .integer,
            "startSchedule": .dateTime,
            "chargingRateUnit": .enumeration(ChargingRateUnit.self),
            "chargingSchedulePeriod": .array(
                of: .object(["startPeriod": .integer, "limit": .numberInTenths, "numberPhases": .integer], required: ["startPeriod", "limit"])
            ),
            "minChargingRate": .numberInTenths,
        ],
        required: ["chargingRateUnit", "chargingSchedulePeriod"]
    )

    private static let chargingProfile = Schema.object(
        [
            "chargingProfileId": .integer,
            "transactionId": .integer,
            "stackLevel": .integer,
            "chargingProfilePurpose": .enumeration(ChargingProfilePurpose.self),
            "chargingProfileKind": .enumeration(ChargingProfileKind.self),
            "recurrencyKind": .enumeration(RecurrencyKind.self),
            "validFrom": .dateTime,
            "validTo": .dateTime,
            "chargingSchedule": chargingSchedule,
        ],
        required: ["chargingProfileId", "stackLevel", "chargingProfilePurpose", "chargingProfileKind", "chargingSchedule"]
    )
}
