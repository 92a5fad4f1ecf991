import Foundation

/// One measurement. The value is a string: a decimal number, or signed data when `format` says so.
public struct SampledValue: Codable, Sendable, Equatable {
    public var value: String
    public var context: ReadingContext?
    public var format: ValueFormat?
    public var measurand: Measurand?
    public var phase: Phase?
    public var location: Location?
    public var unit: UnitOfMeasure?

    public init(
        value: String, context: ReadingContext? = nil, format: ValueFormat? = nil, measurand: Measurand? = nil,
        phase: Phase? = nil, location: Location? = nil, unit: UnitOfMeasure? = nil
    ) {
        self.value = value
        self.context = context
        self.format = format
        self.measurand = measurand
        self.phase = phase
        self.location = location
        self.unit = unit
    }

    /// The value in Wh when this is the meter's total imported active energy: measurand
    /// Energy.Active.Import.Register (the default when absent), unit Wh (the default) or kWh, location
    /// Outlet (the default), no phase (a per-phase reading is not the total), raw format, and a plain
    /// decimal number.
    public var energyActiveImportRegisterWh: Decimal? {
        guard (measurand ?? .energyActiveImportRegister) == .energyActiveImportRegister,
              (location ?? .outlet) == .outlet, phase == nil, (format ?? .raw) == .raw,
              let number = Self.plainDecimal(value)
        else { return nil }
        switch unit ?? .wh {
        case .wh: return number
        case .kWh: return number * 1000
        default: return nil
        }
    }

    /// `-?digits(.digits)?`: what meters write; rejects what `Decimal(string:)` would half-read ("12abc").
    /// Read from its digits, exactly: `Decimal(string:locale:)` took a tenth of a MeterValues' CPU.
    private static func plainDecimal(_ text: String) -> Decimal? {
        if text.utf8.contains(where: { $0 >= 0x80 }) {  // Unicode blanks around it, or not a number
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            return trimmed.utf8.contains { $0 >= 0x80 } ? nil : plainDecimal(trimmed)
        }
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let isDigit = { (byte: UInt8) in byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        var number = Substring(text).utf8
        while let first = number.first, isBlank(first) { number.removeFirst() }
        while let last = number.last, isBlank(last) { number.removeLast() }
        let negative = number.first == UInt8(ascii: "-")
        if negative { number.removeFirst() }
        let integer = number.prefix { $0 != UInt8(ascii: ".") }
        var fraction = number.dropFirst(integer.count + 1)
        guard !integer.isEmpty, integer.allSatisfy(isDigit),
              integer.count == number.count || (!fraction.isEmpty && fraction.allSatisfy(isDigit))
        else { return nil }
        while fraction.last == UInt8(ascii: "0") { fraction.removeLast() }
        let significant = integer.drop { $0 == UInt8(ascii: "0") }
        let digitCount = significant.isEmpty ? fraction.drop { $0 == UInt8(ascii: "0") }.count : significant.count + fraction.count
        guard digitCount <= 18 else {  // beyond what a UInt64 holds exactly: rare enough for the general parser
            return Decimal(string: String(decoding: number, as: UTF8.self), locale: Locale(identifier: "en_US_POSIX"))
                .map { negative ? -$0 : $0 }
        }
        var significand: UInt64 = 0
        for byte in significant { significand = significand * 10 + UInt64(byte - UInt8(ascii: "0")) }
        for byte in fraction { significand = significand * 10 + UInt64(byte - UInt8(ascii: "0")) }
        guard significand > 0 else { return 0 }
        return Decimal(sign: negative ? .minus : .plus, exponent: -fraction.count, significand: Decimal(significand))
    }
}

public enum ReadingContext: String, Codable, Sendable, CaseIterable {
    case interruptionBegin = "Interruption.Begin"
    case interruptionEnd = "Interruption.End"
    case sampleClock = "Sample.Clock"
    case samplePeriodic = "Sample.Periodic"
    case transactionBegin = "Transaction.Begin"
    case transactionEnd = "Transaction.End"
    case trigger = "Trigger"
    case other = "Other"
}

public enum ValueFormat: String, Codable, Sendable, CaseIterable {
    case raw = "Raw"
    case signedData = "SignedData"
}

public enum Measurand: String, Codable, Sendable, CaseIterable {
    case energyActiveExportRegister = "Energy.Active.Export.Register"
    case energyActiveImportRegister = "Energy.Active.Import.Register"
    case energyReactiveExportRegister = "Energy.Reactive.Export.Register"
    case energyReactiveImportRegister = "Energy.Reactive.Import.Register"
    case energyActiveExportInterval = "Energy.Active.Export.Interval"
    case energyActiveImportInterval = "Energy.Active.Import.Interval"
    case energyReactiveExportInterval = "Energy.Reactive.Export.Interval"
    case energyReactiveImportInterval = "Energy.Reactive.Import.Interval"
    case powerActiveExport = "Power.Active.Export"
    case powerActiveImport = "Power.Active.Import"
    case powerOffered = "Power.Offered"
    case powerReactiveExport = "Power.Reactive.Export"
    case powerReactiveImport = "Power.Reactive.Import"
    case powerFactor = "Power.Factor"
    case currentImport = "Current.Import"
    case currentExport = "Current.Export"
    case currentOffered = "Current.Offered"
    case voltage = "Voltage"
    case frequency = "Frequency"
    case temperature = "Temperature"
    case soc = "SoC"
    case rpm = "RPM"
}

public enum Phase: String, Codable, Sendable, CaseIterable {
    case l1 = "L1"
    case l2 = "L2"
    case l3 = "L3"
    case n = "N"
    case l1N = "L1-N"
    case l2N = "L2-N"
    case l3N = "L3-N"
    case l1L2 = "L1-L2"
    case l2L3 = "L2-L3"
    case l3L1 = "L3-L1"
}

public enum Location: String, Codable, Sendable, CaseIterable {
    case cable = "Cable"
    case ev = "EV"
    case inlet = "Inlet"
    case outlet = "Outlet"
    case body = "Body"
}

/// Both "Celcius" (sic, the 1.6 schemas' spelling) and "Celsius" are in the schemas.
public enum UnitOfMeasure: String, Codable, Sendable, CaseIterable {
    case wh = "Wh"
    case kWh = "kWh"
    case varh = "varh"
    case kvarh = "kvarh"
    case w = "W"
    case kW = "kW"
    case va = "VA"
    case kVA = "kVA"
    case `var` = "var"
    case kvar = "kvar"
    case a = "A"
    case v = "V"
    case k = "K"
    case celcius = "Celcius"
    case celsius = "Celsius"
    case fahrenheit = "Fahrenheit"
    case percent = "Percent"
    /// Only in MeterValues: StopTransaction's transactionData schema does not list it.
    case hertz = "Hertz"
}
