import Foundation
import PostgresClient

/// What chargers report under the profiles beyond Core and the security extension: the statuses of
/// firmware, diagnostics and log jobs, security events and certificate signing requests. Each write
/// is fenced by the socket's epoch, like every write about a pile's connection.
extension OCPPStore {
    /// The job a status report is about.
    public enum ReportKind: String, Sendable, CaseIterable {
        case firmware, diagnostics, log
        case signedFirmware = "signed_firmware"
    }

    /// Stores a FirmwareStatusNotification, DiagnosticsStatusNotification, LogStatusNotification or
    /// SignedFirmwareStatusNotification in the pile's history and as its latest of that kind, and moves the
    /// pile's running firmware or diagnostics operation to `operationState` (nil: it keeps its state). False
    /// when the socket's epoch is no longer the pile's (nothing is written).
    @discardableResult
    public func recordStatusReport(_ kind: ReportKind, status: String, requestID: Int?, operationState: OCPPOperationStore.PileState? = nil,
                                   pileID: Int, epoch: Int64) async throws -> Bool {
        let operationKind: String? = switch kind {
        case .firmware: OCPPOperationStore.Kind.firmware.rawValue
        case .diagnostics: OCPPOperationStore.Kind.diagnostics.rawValue
        case .log, .signedFirmware: nil
        }
        return try await pool.query("""
            WITH pile AS (
                UPDATE piles SET
                    firmware_status = CASE WHEN \(kind.rawValue) IN ('firmware', 'signed_firmware') THEN \(status) ELSE firmware_status END,
                    firmware_request_id = CASE WHEN \(kind.rawValue) = 'firmware' THEN NULL
                                               WHEN \(kind.rawValue) = 'signed_firmware' THEN \(requestID)::integer
                                               ELSE firmware_request_id END,
                    firmware_reported_at = CASE WHEN \(kind.rawValue) IN ('firmware', 'signed_firmware') THEN now()
                                                ELSE firmware_reported_at END,
                    diagnostics_status = CASE WHEN \(kind.rawValue) = 'diagnostics' THEN \(status) ELSE diagnostics_status END,
                    diagnostics_reported_at = CASE WHEN \(kind.rawValue) = 'diagnostics' THEN now() ELSE diagnostics_reported_at END,
                    log_status = CASE WHEN \(kind.rawValue) = 'log' THEN \(status) ELSE log_status END,
                    log_request_id = CASE WHEN \(kind.rawValue) = 'log' THEN \(requestID)::integer ELSE log_request_id END
                WHERE id = \(pileID) AND owner_epoch = \(epoch)
                RETURNING id
            ), operation AS (
                UPDATE ocpp_operation_piles o
                SET status = \(status), status_at = now(), state = coalesce(\(operationState?.rawValue)::text, o.state),
                    state_since = CASE WHEN coalesce(\(operationState?.rawValue)::text, o.state) <> o.state THEN now() ELSE o.state_since END,
                    sent_at = coalesce(o.sent_at, now())
                FROM pile, ocpp_operations k
                -- A report may come before the charger's answer to the call is recorded (`sending`): it is running then.
                WHERE o.pile_id = pile.id AND o.state IN ('sending', 'running') AND k.id = o.operation_id AND k.kind = \(operationKind)::text
            )
            INSERT INTO ocpp_status_reports (pile_id, kind, status, request_id)
            SELECT id, \(kind.rawValue), \(status), \(requestID)::integer FROM pile
            RETURNING id
            """).first != nil
    }

    /// Stores a SecurityEventNotification.
    @discardableResult
    public func recordSecurityEvent(type: String, chargerTimestamp: Date, techInfo: String?, pileID: Int, epoch: Int64) async throws -> Bool {
        try await pool.execute("""
            INSERT INTO ocpp_security_events (pile_id, event_type, charger_timestamp, tech_info)
            SELECT id, \(type), \(chargerTimestamp), \(techInfo) FROM piles WHERE id = \(pileID) AND owner_epoch = \(epoch)
            """) == 1
    }

    /// Stores a SignCertificate request with the answer it got: the certificate issued, or why none was.
    public func recordCertificateRequest(csr: String, answer: String, certificate: String? = nil, refusal: String? = nil,
                                         pileID: Int, epoch: Int64) async throws {
        try await pool.execute("""
            INSERT INTO ocpp_certificate_requests (pile_id, csr, answer, certificate, refusal)
            SELECT id, \(csr), \(answer), \(certificate), \(refusal) FROM piles WHERE id = \(pileID) AND owner_epoch = \(epoch)
            """)
    }

    public struct SecurityEvent: Sendable {
        public var id: Int64
        public var pileID: Int
        public var type: String
        public var chargerTimestamp: Date
        public var techInfo: String?
        public var receivedAt: Date
    }

    /// The latest security events, newest first, of one pile or of all.
    public func securityEvents(pileID: Int?, limit: Int) async throws -> [SecurityEvent] {
        try await pool.query("""
            SELECT id, pile_id, event_type, charger_timestamp, tech_info, received_at FROM ocpp_security_events
            WHERE \(pileID)::integer IS NULL OR pile_id = \(pileID)::integer
            ORDER BY id DESC LIMIT \(limit)
            """).map {
            SecurityEvent(id: try $0.decode("id"), pileID: try $0.decode("pile_id"), type: try $0.decode("event_type"),
                          chargerTimestamp: try $0.decode("charger_timestamp"), techInfo: try $0.decode("tech_info"),
                          receivedAt: try $0.decode("received_at"))
        }
    }
}
