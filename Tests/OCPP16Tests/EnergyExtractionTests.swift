import Foundation
import Testing
import OCPP16

@Suite struct EnergyExtractionTests {
    private let at = ChargePointExamples.date("2026-11-30T20:00:00.000Z")

    @Test func whIsTakenAsIs() {
        #expect(SampledValue(value: "1250400", measurand: .energyActiveImportRegister, unit: .wh).energyActiveImportRegisterWh == 1_250_400)
    }

    @Test func kWhIsConvertedExactly() {
        #expect(SampledValue(value: "1253.987", unit: .kWh).energyActiveImportRegisterWh == Decimal(string: "1253987"))
        #expect(SampledValue(value: "0.0005", unit: .kWh).energyActiveImportRegisterWh == Decimal(string: "0.5"))
    }

    @Test func missingUnitAndMeasurandMeanWhOfTheImportRegister() {
        #expect(SampledValue(value: "42").energyActiveImportRegisterWh == 42)
        #expect(SampledValue(value: "42", location: .outlet).energyActiveImportRegisterWh == 42)
        #expect(SampledValue(value: "42.5", context: .sampleClock).energyActiveImportRegisterWh == Decimal(string: "42.5"))
    }

    @Test(arguments: [
        SampledValue(value: "7400", measurand: .powerActiveImport, unit: .w),
        SampledValue(value: "16", measurand: .currentImport, unit: .a),
        SampledValue(value: "500", measurand: .energyActiveExportRegister, unit: .wh),
        SampledValue(value: "12", measurand: .energyActiveImportInterval, unit: .wh),
        SampledValue(value: "3", unit: .kvarh),
        SampledValue(value: "400", phase: .l1, unit: .wh),
        SampledValue(value: "9000", location: .inlet, unit: .wh),
        SampledValue(value: "AB12CD==", format: .signedData),
        SampledValue(value: "12abc"),
        SampledValue(value: "0x10"),
        SampledValue(value: "nan"),
        SampledValue(value: ""),
    ])
    func otherValuesAreIgnored(_ sampledValue: SampledValue) {
        #expect(sampledValue.energyActiveImportRegisterWh == nil)
    }

    @Test func theRegisterIsFoundAmongSeveralSampledValues() {
        let meterValue = MeterValue(timestamp: at, sampledValue: [
            SampledValue(value: "16.0", measurand: .currentImport, phase: .l1, unit: .a),
            SampledValue(value: "400", measurand: .energyActiveImportRegister, phase: .l1, unit: .wh),
            SampledValue(value: "1.2", measurand: .energyActiveImportRegister, unit: .kWh),
            SampledValue(value: "230", measurand: .voltage, phase: .l1N, unit: .v),
        ])
        #expect(meterValue.energyActiveImportRegisterWh == 1200)
        #expect(MeterValue(timestamp: at, sampledValue: [SampledValue(value: "230", measurand: .voltage)]).energyActiveImportRegisterWh == nil)
    }

    @Test func theLatestReadingWinsAcrossMeterValues() {
        let values = [
            MeterValue(timestamp: at.addingTimeInterval(60), sampledValue: [SampledValue(value: "2000")]),
            MeterValue(timestamp: at.addingTimeInterval(120), sampledValue: [SampledValue(value: "11", measurand: .soc, unit: .percent)]),
            MeterValue(timestamp: at, sampledValue: [SampledValue(value: "1000")]),
        ]
        #expect(values.latestEnergyActiveImportRegisterWh == 2000)
        #expect([MeterValue]().latestEnergyActiveImportRegisterWh == nil)
    }

    @Test func fromTheExampleFrames() throws {
        for (_, call) in ChargePointExamples.all {
            switch call {
            case .meterValues(let request): #expect(request.meterValue.latestEnergyActiveImportRegisterWh == 1_253_900)
            case .stopTransaction(let request): #expect(request.transactionData?.latestEnergyActiveImportRegisterWh == 1_262_100)
            default: break
            }
        }
    }
}
