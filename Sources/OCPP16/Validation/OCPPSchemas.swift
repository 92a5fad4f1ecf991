/// The OCPP 1.6J JSON schemas of the implemented actions, written out in the `Schema` DSL.
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
        }
    }

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
            "chargingSchedule": .object(
                [
                    "duration": .integer,
                    "startSchedule": .dateTime,
                    "chargingRateUnit": .enumeration(ChargingRateUnit.self),
                    "chargingSchedulePeriod": .array(
                        of: .object(
                            ["startPeriod": .integer, "limit": .numberInTenths, "numberPhases": .integer],
                            required: ["startPeriod", "limit"]
                        )
                    ),
                    "minChargingRate": .numberInTenths,
                ],
                required: ["chargingRateUnit", "chargingSchedulePeriod"]
            ),
        ],
        required: ["chargingProfileId", "stackLevel", "chargingProfilePurpose", "chargingProfileKind", "chargingSchedule"]
    )
}
