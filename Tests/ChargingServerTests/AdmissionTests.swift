import ChargingServer
import Foundation
import PileSimulator
import Testing
import TestSupport

@Suite("Admission: chargers let in per second")
struct AdmissionTests {
    @Test("the bucket admits its rate, then promises each refused charger its own later second")
    func bucket() {
        let start = ContinuousClock.now
        let admission = PileAdmission(rate: 2, now: start)
        #expect(admission.admit(now: start) == .admitted)
        #expect(admission.admit(now: start) == .admitted)
        // Slots at +0.5 s, +1 s, +1.5 s, +2 s: two chargers a second, in whole seconds rounded up.
        #expect(admission.admit(now: start) == .retry(afterSeconds: 1))
        #expect(admission.admit(now: start) == .retry(afterSeconds: 1))
        #expect(admission.admit(now: start) == .retry(afterSeconds: 2))
        #expect(admission.admit(now: start) == .retry(afterSeconds: 2))
        // Half a second refills one.
        #expect(admission.admit(now: start + .milliseconds(500)) == .admitted)
        #expect(admission.admit(now: start + .milliseconds(500)) == .retry(afterSeconds: 2))
        // Refilled to its rate, never beyond.
        let later = start + .seconds(60)
        #expect(admission.admit(now: later) == .admitted)
        #expect(admission.admit(now: later) == .admitted)
        #expect(admission.admit(now: later) == .retry(afterSeconds: 1))

        let unlimited = PileAdmission(rate: nil, now: start)
        for _ in 0..<10_000 { #expect(unlimited.admit(now: start) == .admitted) }
    }

    @Test("OCPP: a Boot over the rate is Pending with an interval, other CALLs are SecurityError until a Boot is Accepted; a booted charger is unaffected")
    func ocppPending() async throws {
        try await TestServer.run(configure: { $0.admissionRate = 1 }) { api in
            let admin = try await api.adminToken()
            let first = try await OCPPCharger.connect(api, chargePointID: "1")
            let boot = #"{"chargePointVendor":"ACME","chargePointModel":"X1"}"#
            #expect(try await first.call("BootNotification", boot)["status"] as? String == "Accepted")

            let second = try await OCPPCharger.connect(api, chargePointID: "2")
            // At one a second the bucket refills while a busy machine connects: boot until this second's one is used.
            // Each attempt names its own model, so the Pending one can be told from one the refill let in.
            var pending: [String: Any] = [:]
            var attempt = 0
            try await eventually("a Boot over the rate") {
                attempt += 1
                pending = try await second.call("BootNotification", #"{"chargePointVendor":"ACME","chargePointModel":"X\#(attempt)"}"#)
                return pending["status"] as? String == "Pending"
            }
            let interval = try #require(pending["interval"] as? Int)
            #expect(interval >= 1)
            try await second.send(#"[2,"early","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Available"}]"#)
            let refusal = try await second.nextMessage()
            #expect(refusal.count == 5 && refusal[0] as? Int == 4 && refusal[1] as? String == "early")
            #expect(refusal[2] as? String == "SecurityError")
            #expect(try await api.pileStatus(2, token: admin) != "on")
            let pendingRecorded: Bool = try await api.pool.query(
                "SELECT boot_model IS NOT DISTINCT FROM \("X\(attempt)") AS b FROM piles WHERE id = 2").first!.decode("b")
            #expect(!pendingRecorded)

            // The charger already admitted is served as before while the other waits.
            _ = try await first.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Available"}"#)
            #expect(try await api.pileStatus(1, token: admin) == "on")
            async let set = api.call(.post, "/admin/charge/status/set", body: .form(["token": admin, "id": "1", "status": "off"]))
            let command = try await first.expectCall()
            #expect(command.action == "ChangeAvailability")
            try await first.reply(command.id, #"{"status":"Accepted"}"#)
            #expect(try await set.code == 200)

            // The charger boots again after the interval it was given (the protocol's wait, not a guess at timing).
            try await Task.sleep(for: .seconds(interval))
            #expect(try await second.call("BootNotification", boot)["status"] as? String == "Accepted")
            _ = try await second.call("StatusNotification", #"{"connectorId":1,"errorCode":"NoError","status":"Available"}"#)
            #expect(try await api.pileStatus(2, token: admin) == "on")
        }
    }

    @Test("pile protocol: a login over the rate answers -1 with retry_after and Retry-After; a connected pile is unaffected")
    func pileLoginRetry() async throws {
        try await TestServer.run(configure: { $0.admissionRate = 1 }) { api in
            let admin = try await api.adminToken()
            let connected = try await ConnectedPile.open(api, pileID: 1)
            guard case .welcome = try await connected.next() else { throw TestFailure("pile 1 was not welcomed") }

            // At one a second the bucket refills while a busy machine connects: log in until this second's one is used.
            var refused = TestAPI.Reply(httpStatus: 0, object: [:])
            try await eventually("a login over the rate") {
                refused = try await api.call(.post, "/p/login", body: .form(["id": "2", "password": TestServer.pilePassword]))
                return refused.code == -1
            }
            #expect(refused.httpStatus == 200)
            #expect(refused.code == -1)
            #expect(refused.msg == "服务繁忙，请稍后重试")
            #expect(refused.token == nil)
            let retryAfter = try #require(refused.object["retry_after"] as? Int)
            #expect(retryAfter >= 1)
            #expect(refused.headers[.retryAfter] == String(retryAfter))

            // The pile already connected is served: its own button and the admin's command both work.
            try await connected.simulated.send(status: "on")
            try await eventually("pile 1 on") { try await api.pileStatus(1, token: admin) == "on" }
            let set = try await api.call(.post, "/admin/charge/status/set", body: .form(["token": admin, "id": "1", "status": "off"]))
            #expect(set.code == 200)

            try await Task.sleep(for: .seconds(retryAfter))
            let admitted = try await api.call(.post, "/p/login", body: .form(["id": "2", "password": TestServer.pilePassword]))
            #expect(admitted.code == 200)
            #expect(admitted.token != nil)
            await connected.stop()
        }
    }

    @Test("the simulator's reconnect backoff doubles up to its maximum, each wait between half and all of it")
    func jitteredBackoff() {
        let backoff = ReconnectBackoff(initial: .seconds(1), maximum: .seconds(30))
        #expect(backoff.delay(attempt: 0, random: 0) == .milliseconds(500))
        #expect(backoff.delay(attempt: 0, random: 0.5) == .milliseconds(750))
        #expect(backoff.delay(attempt: 3, random: 0) == .seconds(4))
        #expect(backoff.delay(attempt: 3, random: 0.999) < .seconds(8))
        #expect(backoff.delay(attempt: 3, random: 0.999) > .milliseconds(7990))
        // Capped: 2⁵ = 32 s is over the maximum, and so is a huge attempt count.
        #expect(backoff.delay(attempt: 5, random: 0) == .seconds(15))
        #expect(backoff.delay(attempt: 5, random: 1) == .seconds(30))
        #expect(backoff.delay(attempt: 10_000, random: 0.5) == .milliseconds(22_500))
        // Out-of-range random numbers are clamped; a negative attempt is the first.
        #expect(backoff.delay(attempt: 0, random: -3) == .milliseconds(500))
        #expect(backoff.delay(attempt: -1, random: 7) == .seconds(1))
        // Random draws stay in range and spread: 1,000 chargers on their first retry don't share one instant.
        let draws = (0..<1000).map { _ in backoff.delay(attempt: 1) }
        #expect(draws.allSatisfy { $0 >= .seconds(1) && $0 < .seconds(2) })
        #expect(Set(draws.map { $0 / .milliseconds(100) }.map(Int.init)).count >= 8)
    }
}
