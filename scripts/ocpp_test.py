#!/usr/bin/env python3
"""OCPP 1.6J charge points built on PyPI's `ocpp` (mobilityhouse) driving a live chargepile cluster.

Run through scripts/ocpp-test, which installs the tools, starts the cluster (two instances on one
PostgreSQL, nginx in front, manual station clock) and passes its topology here:

    ocpp_test.py --instance URL-A --instance URL-B --instance-pid PID-A --instance-pid PID-B \
                 --lb URL-NGINX --database-url DSN --clock-start ISO [--only a,b,…]

Passwords come from the environment: CHARGEPILE_ADMIN_USER (default admin), CHARGEPILE_ADMIN_PASSWORD,
CHARGEPILE_PILE_PASSWORD. Every scenario prints one PASS or FAIL line per check; the exit status is 1
when any check failed. Every wait polls with a deadline; nothing synchronises on a fixed sleep.

Scenarios (each uses its own piles; d kills an instance, so it runs last):
  a  Boot, Heartbeat, StatusNotification mapping (charger on instance A, admin reads on B)
  b  admin status/set on B → ChangeAvailability on the charger on A; Accepted, Scheduled, Rejected,
     CALLERROR, no answer, repair, offline
  c  a driver's request → RemoteStart → StartTransaction → MeterValues → completion → RemoteStop →
     StopTransaction → bill from meterStop − meterStart
  e  duplicate StartTransaction, cancel with a meter below the model, repeated StopTransaction
  h  the charger stops a session itself (StopTransaction EVDisconnected, no RemoteStop) → bill from its meter
  f  malformed frames → the CALLERROR of the table below; sockets stay open; nothing changes
  g  handshake refusals: subprotocol 400, credentials 401, unknown charger 404
  p  every central-system action of the six profiles and the security extension through /admin/ocpp/call
     on B to a charger on A, each checked by mobilityhouse's own schemas and answered back; bad
     operator calls refused; the charger's SecurityEventNotification, LogStatusNotification,
     SignedFirmwareStatusNotification, SignCertificate acknowledged, stored, the events visible
  l  local list sync (the cluster runs --ocpp-local-list-sync): a charger with LocalAuthListManagement gets
     its configuration read, a full list with a driver's idTag, a differential update with a card blocked
     and ClearCache; the view ocpp_local_list_status
  r  a firmware rollout over two chargers, one at a time (POST /admin/firmware/update on B): UpdateFirmware,
     Downloading … Installed followed per pile, a silent charger asked with TriggerMessage, the second
     charger's InstallationFailed; the rollout in GET /admin/ocpp/operations and ocpp_operation_progress
  s  load management: a station power limit set on B (POST /admin/station/set power_limit_kw) → the Smart Charging
     charger on A gets its car's share as SetChargingProfile (TxDefaultProfile, connector 0, W) before
     RemoteStartTransaction (in W: it takes both units), a lower limit as another profile; its Accepted is the pile_commands row's answer
  o  a charger that was offline replays its backlog (StartTransaction stamped hours ago, MeterValues, StopTransaction with
     transactionData, under its transactionId and under −1, a card blocked meanwhile), then all of it again: each session
     billed once at meterStop − meterStart over the charger's times, the pile's queue and commands untouched
  t  security profiles 2 and 3 through nginx's TLS port (OCPP_TEST_TLS_URL, certificates in OCPP_TEST_CERTS): ws:// and
     forged TLS headers refused for a profile-2 pile, wss:// with Basic accepted; its SignCertificate → CertificateSigned
     with a chain openssl verifies against the CA, then the same charger on profile 3 with that certificate; a
     profile-3 pile with its certificate (no Basic), another pile's certificate (403), another CA's (nginx 400)
  v  reservations from the queue: a car queued behind another at a charger that answers ReserveNow → ReserveNow with
     its driver's idTag, CancelReservation when that driver cancels, an Occupied answer that keeps the car's place;
     an operator's window (POST /admin/reservations) shown in psql
  d  kill -9 of the instance holding a charger; it reconnects through nginx and is controllable again
"""

import argparse
import asyncio
import base64
import datetime as dt
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid

from ocpp.exceptions import GenericError, OCPPError
from ocpp.routing import on
from ocpp.v16 import ChargePoint as OCPP16ChargePoint
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.protocol import State

# --- the expected CALLERROR codes: ONE table, adjust here ------------------------------------------
# As Sources/OCPP16 maps them (OCPPFrame.parse, OCPPInbound.parse, Schema.firstViolation), which follow
# mobilityhouse/ocpp 2.1.0's own validate_payload for 1.6 with 1.6's spelling "FormationViolation".
# A frame whose id cannot be read is answered with id "-1".
UNREADABLE_ID = "-1"
CODE = {
    "not JSON": "FormationViolation",
    "not an array": "ProtocolError",
    "empty array": "ProtocolError",
    "message type not a number": "ProtocolError",
    "unknown message type": "ProtocolError",
    "id not a string": "ProtocolError",
    "id over 36 characters": "ProtocolError",
    "CALL with 3 elements": "ProtocolError",
    "CALL with 5 elements": "ProtocolError",
    "action not a string": "ProtocolError",
    "payload not an object": "ProtocolError",
    "unknown action": "NotImplemented",
    "central-system action (RemoteStartTransaction)": "NotSupported",
    "central-system action outside Core (GetDiagnostics)": "NotSupported",
    "field of the wrong type": "TypeConstraintViolation",
    "integer field with a fraction": "TypeConstraintViolation",
    "missing required field": "ProtocolError",
    "unknown field": "FormationViolation",
    "value not in the enum": "FormationViolation",
    "string over its maxLength": "TypeConstraintViolation",
    "date-time that is not RFC 3339": "FormationViolation",
}

# One malformed frame per row: (name in CODE, frame text, id the CALLERROR must carry).
# {id} is replaced by a fresh message id. The StatusNotification rows would change the pile's status
# if they were applied; the scenario checks that none did.
MALFORMED = [
    ("not JSON", "this is not json", UNREADABLE_ID),
    ("not an array", '{"messageTypeId": 2}', UNREADABLE_ID),
    ("empty array", "[]", UNREADABLE_ID),
    ("message type not a number", '["2", "{id}", "Heartbeat", {}]', "{id}"),
    ("unknown message type", '[7, "{id}", "Heartbeat", {}]', "{id}"),
    ("id not a string", '[2, 12345, "Heartbeat", {}]', UNREADABLE_ID),
    ("id over 36 characters", '[2, "{id}-0123456789abcdef0123456789abcdef", "Heartbeat", {}]', "{id}-0123456789abcdef0123456789abcdef"),
    ("CALL with 3 elements", '[2, "{id}", "Heartbeat"]', "{id}"),
    ("CALL with 5 elements", '[2, "{id}", "Heartbeat", {}, {}]', "{id}"),
    ("action not a string", '[2, "{id}", 42, {}]', "{id}"),
    ("payload not an object", '[2, "{id}", "Heartbeat", []]', "{id}"),
    ("unknown action", '[2, "{id}", "MakeCoffee", {}]', "{id}"),
    ("central-system action (RemoteStartTransaction)", '[2, "{id}", "RemoteStartTransaction", {"idTag": "X"}]', "{id}"),
    ("central-system action outside Core (GetDiagnostics)",
     '[2, "{id}", "GetDiagnostics", {"location": "ftp://example.invalid/"}]', "{id}"),
    ("field of the wrong type",
     '[2, "{id}", "StatusNotification", {"connectorId": "1", "errorCode": "NoError", "status": "Unavailable"}]', "{id}"),
    ("integer field with a fraction",
     '[2, "{id}", "StatusNotification", {"connectorId": 1.5, "errorCode": "NoError", "status": "Unavailable"}]', "{id}"),
    ("missing required field", '[2, "{id}", "StatusNotification", {"connectorId": 1, "status": "Faulted"}]', "{id}"),
    ("unknown field",
     '[2, "{id}", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Faulted", "colour": "red"}]',
     "{id}"),
    ("value not in the enum", '[2, "{id}", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Broken"}]',
     "{id}"),
    ("string over its maxLength",
     '[2, "{id}", "StatusNotification", {"connectorId": 1, "errorCode": "OtherError", "status": "Faulted", "info": "' + "x" * 51
     + '"}]', "{id}"),
    ("string over its maxLength",
     '[2, "{id}", "BootNotification", {"chargePointVendor": "' + "v" * 21 + '", "chargePointModel": "m"}]', "{id}"),
    ("date-time that is not RFC 3339",
     '[2, "{id}", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Unavailable", "timestamp": "yesterday"}]',
     "{id}"),
]

# Pile status as the admin API reports it for each StatusNotification status.
STATUS_MAP = {
    "Available": "on", "Preparing": "on", "Charging": "on", "SuspendedEV": "on", "SuspendedEVSE": "on",
    "Finishing": "on", "Unavailable": "off", "Faulted": "repair",
}

STATION_ZONE = dt.timezone(dt.timedelta(hours=8))  # Asia/Shanghai, the station's default
FAST_POLL = 0.1
DEADLINE = 20.0          # default wait for a state to become visible
COMMAND_DEADLINE = 45.0  # an admin command's HTTP answer (the server's command deadline is far shorter)
OCPP_TIMEOUT = 30        # the charge point's wait for a CALLRESULT
SCENARIO_TIMEOUT = 240.0

LOG = logging.getLogger("ocpp-test")


class Failure(Exception):
    pass


# --- results ------------------------------------------------------------------------------------

class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failures = []

    def check(self, scenario, what, ok, detail=""):
        line = f"{'PASS' if ok else 'FAIL'} {scenario}: {what}" + (f" ({detail})" if detail else "")
        print(line, flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            self.failures.append(line)
        return ok

    def require(self, scenario, what, ok, detail=""):
        """A check the rest of the scenario depends on."""
        if not self.check(scenario, what, ok, detail):
            raise Failure(f"{what} failed")


R = Results()


async def poll(fetch, predicate, timeout=DEADLINE, interval=FAST_POLL):
    """(ok, last value): fetch() until predicate(value) holds or the deadline passes."""
    deadline = time.monotonic() + timeout
    value = None
    while True:
        try:
            value = await fetch()
            if predicate(value):
                return True, value
        except Exception as error:  # a transient error while a state settles: keep polling
            value = f"error: {error!r}"
        if time.monotonic() >= deadline:
            return False, value
        await asyncio.sleep(interval)


# --- HTTP ---------------------------------------------------------------------------------------

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Api:
    """The chargepile HTTP API of one instance (or of nginx). Blocking calls run in a thread, so the
    charge points keep answering CSMS calls while an admin command waits for them."""

    def __init__(self, base):
        self.base = base.rstrip("/")

    def _request(self, method, path, params, timeout):
        url = self.base + path
        data = None
        headers = {"Accept": "application/json"}
        encoded = urllib.parse.urlencode(params)
        if method == "GET":
            if encoded:
                url += "?" + encoded
        else:
            data = encoded.encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with OPENER.open(request, timeout=timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            raise Failure(f"{method} {path}: HTTP {error.code} {error.read()[:300]!r}") from None
        try:
            return json.loads(body)
        except ValueError:
            raise Failure(f"{method} {path}: not JSON: {body[:300]!r}") from None

    async def call(self, method, path, timeout=30.0, **params):
        return await asyncio.to_thread(self._request, method, path, params, timeout)

    async def ok(self, method, path, **params):
        answer = await self.call(method, path, **params)
        if answer.get("code") != 200:
            raise Failure(f"{method} {path} {redact(params)} → {answer}")
        return answer


def redact(params):
    return {key: ("…" if key in ("token", "password") else value) for key, value in params.items()}


class Station:
    """Admin and driver helpers over one instance's API."""

    def __init__(self, api, admin_token):
        self.api = api
        self.token = admin_token

    async def piles(self):
        answer = await self.api.ok("GET", "/admin/charge/status/get", token=self.token)
        return {pile["charging_station_id"]: pile for pile in answer["data"]}

    async def pile(self, pile_id):
        return (await self.piles()).get(pile_id)

    async def status(self, pile_id):
        pile = await self.pile(pile_id)
        return pile and pile.get("status")

    async def wait_status(self, pile_id, expected, timeout=DEADLINE):
        return await poll(lambda: self.status(pile_id), lambda status: status == expected, timeout)

    async def set_status(self, pile_id, status):
        return await self.api.call("POST", "/admin/charge/status/set", timeout=COMMAND_DEADLINE,
                                   token=self.token, id=str(pile_id), status=status)

    async def advance(self, to):
        await self.api.ok("POST", "/admin/clock/advance", token=self.token, to=to.isoformat())


async def login_admin(api, user, password):
    answer = await api.ok("POST", "/a/login", username=user, password=password)
    return answer["token"]


async def new_driver(api, username, capacity):
    password = "driver-" + uuid.uuid4().hex[:12]
    await api.ok("POST", "/u/register", username=username, password=password, battery_capacity=str(capacity))
    answer = await api.ok("POST", "/u/login", username=username, password=password)
    return answer["token"]


def projection(piles):
    """What a malformed frame or a refused handshake must not change."""
    keys = ("status", "total_charging_times", "total_charging_power", "total_charging_duration", "connected")
    return {pile_id: {key: pile.get(key) for key in keys} for pile_id, pile in piles.items()}


def near(a, b, tolerance=1e-6):
    try:
        return abs(float(a) - float(b)) <= tolerance
    except (TypeError, ValueError):
        return False


def ocpp_time(moment):
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def real_time_ok(text, slack=120):
    try:
        moment = parse_time(text)
    except (TypeError, ValueError):
        return False
    return moment.tzinfo is not None and abs((moment - dt.datetime.now(dt.timezone.utc)).total_seconds()) <= slack


# --- the charge point ---------------------------------------------------------------------------

class Charger(OCPP16ChargePoint):
    """A mobilityhouse 1.6 charge point whose answers to CSMS calls are configurable.

    Every CSMS call lands in `inbox` as (action, camelCase payload). Raw frames can be sent on the
    underlying socket; the answer with a given id is taken out before mobilityhouse routes it.
    """

    def __init__(self, cp_id, ws):
        super().__init__(cp_id, ws, response_timeout=OCPP_TIMEOUT)
        self.ws = ws
        # Accepted | Rejected | Scheduled | callerror | silent (never answered)
        self.availability_answer = "Accepted"
        self.remote_start_answer = "Accepted"
        self.remote_stop_answer = "Accepted"
        self.inbox = asyncio.Queue()
        self.frames = []  # every text frame received, in order
        self._waiters = {}
        self.task = None

    @classmethod
    async def open(cls, base_url, cp_id, password, subprotocols=("ocpp1.6",), ssl=None, authorization=True):
        ws = await open_socket(base_url, cp_id, password, subprotocols, authorization=authorization, ssl=ssl)
        charger = cls(cp_id, ws)
        charger.task = asyncio.create_task(charger._serve(), name=f"charger {cp_id}")
        return charger

    async def _serve(self):
        try:
            await self.start()
        except ConnectionClosed:
            pass

    async def close(self):
        if self.ws.state is not State.CLOSED:
            await self.ws.close()
        if self.task:
            try:
                await asyncio.wait_for(self.task, 10)
            except (asyncio.TimeoutError, Exception):
                self.task.cancel()

    @property
    def is_open(self):
        return self.ws.state is State.OPEN

    async def route_message(self, raw_msg):
        self.frames.append(raw_msg)
        try:
            frame = json.loads(raw_msg)
        except ValueError:
            frame = None
        if isinstance(frame, list) and len(frame) >= 2 and frame[0] in (3, 4) and isinstance(frame[1], str):
            waiter = self._waiters.pop(frame[1], None)
            if waiter is not None and not waiter.done():
                waiter.set_result(frame)
                return
        if (self.availability_answer == "silent" and isinstance(frame, list) and len(frame) == 4
                and frame[0] == 2 and frame[2] == "ChangeAvailability"):
            self.inbox.put_nowait(("ChangeAvailability", frame[3]))
            return
        await super().route_message(raw_msg)

    # CSMS → charge point

    @on(Action.change_availability)
    def on_change_availability(self, connector_id, type):
        self.inbox.put_nowait(("ChangeAvailability", {"connectorId": connector_id, "type": type}))
        if self.availability_answer == "callerror":
            raise GenericError(description="the test charge point answers ChangeAvailability with a CALLERROR")
        return call_result.ChangeAvailability(status=self.availability_answer)

    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag, connector_id=None, charging_profile=None):
        self.inbox.put_nowait(("RemoteStartTransaction", {"idTag": id_tag, "connectorId": connector_id}))
        return call_result.RemoteStartTransaction(status=self.remote_start_answer)

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id):
        self.inbox.put_nowait(("RemoteStopTransaction", {"transactionId": transaction_id}))
        return call_result.RemoteStopTransaction(status=self.remote_stop_answer)

    @on(Action.reset)
    def on_reset(self, type):
        self.inbox.put_nowait(("Reset", {"type": type}))
        return call_result.Reset(status="Accepted")

    @on(Action.get_configuration)
    def on_get_configuration(self, key=None):
        self.inbox.put_nowait(("GetConfiguration", {"key": key}))
        return call_result.GetConfiguration(configuration_key=[], unknown_key=key or None)

    @on(Action.change_configuration)
    def on_change_configuration(self, key, value):
        self.inbox.put_nowait(("ChangeConfiguration", {"key": key, "value": value}))
        return call_result.ChangeConfiguration(status="Accepted")

    @on(Action.clear_cache)
    def on_clear_cache(self):
        self.inbox.put_nowait(("ClearCache", {}))
        return call_result.ClearCache(status="Accepted")

    @on(Action.unlock_connector)
    def on_unlock_connector(self, connector_id):
        self.inbox.put_nowait(("UnlockConnector", {"connectorId": connector_id}))
        return call_result.UnlockConnector(status="Unlocked")

    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message, connector_id=None):
        self.inbox.put_nowait(("TriggerMessage", {"requestedMessage": requested_message, "connectorId": connector_id}))
        return call_result.TriggerMessage(status="Rejected")

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id, message_id=None, data=None):
        self.inbox.put_nowait(("DataTransfer", {"vendorId": vendor_id}))
        return call_result.DataTransfer(status="UnknownVendorId")

    async def expect(self, action, timeout=DEADLINE):
        """The next CSMS call of this action (others before it are logged and skipped), or None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                got, payload = await asyncio.wait_for(self.inbox.get(), left)
            except asyncio.TimeoutError:
                return None
            if got == action:
                return payload
            print(f"  note: charger {self.id} received {got} {payload} while waiting for {action}", flush=True)

    def drain(self):
        drained = []
        while not self.inbox.empty():
            drained.append(self.inbox.get_nowait())
        return drained

    # charge point → CSMS

    async def boot(self):
        return await self.call(call.BootNotification(
            charge_point_vendor="chargepile-tests", charge_point_model="mobilityhouse-2.1.0",
            charge_point_serial_number=f"SN-{self.id}", firmware_version="test-1"), suppress=False)

    async def heartbeat(self):
        return await self.call(call.Heartbeat(), suppress=False)

    async def notify(self, connector_id, status, error_code="NoError", info=None):
        return await self.call(call.StatusNotification(
            connector_id=connector_id, error_code=error_code, status=status, info=info,
            timestamp=ocpp_time(dt.datetime.now(dt.timezone.utc))), suppress=False)

    async def authorize(self, id_tag):
        return await self.call(call.Authorize(id_tag=id_tag), suppress=False)

    async def start_transaction(self, id_tag, meter_start, timestamp, connector_id=1, unique_id=None):
        return await self.call(call.StartTransaction(
            connector_id=connector_id, id_tag=id_tag, meter_start=meter_start, timestamp=ocpp_time(timestamp)),
            suppress=False, unique_id=unique_id)

    async def meter(self, transaction_id, wh, timestamp, connector_id=1):
        return await self.call(call.MeterValues(connector_id=connector_id, transaction_id=transaction_id, meter_value=[{
            "timestamp": ocpp_time(timestamp),
            "sampled_value": [{"value": str(wh), "context": "Sample.Periodic", "measurand": "Energy.Active.Import.Register",
                               "unit": "Wh"}],
        }]), suppress=False)

    async def stop_transaction(self, transaction_id, meter_stop, timestamp, reason="Remote", id_tag=None):
        return await self.call(call.StopTransaction(
            transaction_id=transaction_id, meter_stop=meter_stop, timestamp=ocpp_time(timestamp), reason=reason,
            id_tag=id_tag), suppress=False)

    async def raw(self, text, answer_id, timeout=10.0):
        """Sends a text frame as is; the CALLRESULT/CALLERROR frame carrying answer_id, or None."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters[answer_id] = waiter
        try:
            await self.ws.send(text)
            return await asyncio.wait_for(waiter, timeout)
        except asyncio.TimeoutError:
            return None
        finally:
            self._waiters.pop(answer_id, None)


def answering(action, result):
    """A handler for a CSMS call that records it in `inbox` (camelCase payload) and answers `result()`.
    mobilityhouse finds handlers by function name, so it must be the attribute's: on_<action name>."""
    def handler(self, **payload):
        self.inbox.put_nowait((action, snake_to_camel(payload)))
        return result()
    handler.__name__ = f"on_{action.name}"
    return on(action)(handler)


def snake_to_camel(value):
    if isinstance(value, dict):
        return {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key): snake_to_camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [snake_to_camel(item) for item in value]
    return value


HASH = {"hashAlgorithm": "SHA256", "issuerNameHash": "ab", "issuerKeyHash": "cd", "serialNumber": "01"}
SCHEDULE = {"chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400.5}]}

# Every central-system action beyond those Charger answers above: (payload sent, answer the charger gives).
OTHER_PROFILE_CALLS = {
    "ReserveNow": ({"connectorId": 1, "expiryDate": "2026-12-01T10:00:00Z", "idTag": "CARD-1", "reservationId": 7},
                   {"status": "Occupied"}),
    "CancelReservation": ({"reservationId": 7}, {"status": "Rejected"}),
    "SendLocalList": ({"listVersion": 5, "updateType": "Full",
                       "localAuthorizationList": [{"idTag": "CARD-1", "idTagInfo": {"status": "Accepted"}}]},
                      {"status": "VersionMismatch"}),
    "GetLocalListVersion": ({}, {"listVersion": 4}),
    "GetDiagnostics": ({"location": "https://diag.example/upload", "retries": 2}, {"fileName": "cp1.zip"}),
    "UpdateFirmware": ({"location": "https://fw.example/cp-2.1.bin", "retrieveDate": "2026-12-01T00:00:00Z"}, {}),
    "SetChargingProfile": ({"connectorId": 0, "csChargingProfiles": {
        "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "ChargePointMaxProfile",
        "chargingProfileKind": "Absolute", "chargingSchedule": {"chargingRateUnit": "A",
                                                                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}]}}},
        {"status": "NotSupported"}),
    "ClearChargingProfile": ({"chargingProfilePurpose": "TxDefaultProfile"}, {"status": "Unknown"}),
    "GetCompositeSchedule": ({"connectorId": 1, "duration": 3600, "chargingRateUnit": "W"},
                             {"status": "Accepted", "connectorId": 1, "scheduleStart": "2026-12-01T00:00:00Z",
                              "chargingSchedule": SCHEDULE}),
    "CertificateSigned": ({"certificateChain": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"},
                          {"status": "Rejected"}),
    "DeleteCertificate": ({"certificateHashData": HASH}, {"status": "NotFound"}),
    "ExtendedTriggerMessage": ({"requestedMessage": "SignChargePointCertificate"}, {"status": "Accepted"}),
    "GetInstalledCertificateIds": ({"certificateType": "CentralSystemRootCertificate"},
                                   {"status": "Accepted", "certificateHashData": [HASH]}),
    "GetLog": ({"log": {"remoteLocation": "https://logs.example/up"}, "logType": "SecurityLog", "requestId": 12},
               {"status": "Accepted", "filename": "sec.log"}),
    "InstallCertificate": ({"certificateType": "ManufacturerRootCertificate", "certificate": "PEM"}, {"status": "Failed"}),
    "SignedUpdateFirmware": ({"requestId": 13, "firmware": {"location": "https://fw.example/s.bin",
                                                             "retrieveDateTime": "2026-12-01T00:00:00Z",
                                                             "signingCertificate": "PEM", "signature": "c2ln"}},
                             {"status": "InvalidCertificate"}),
}

# The Core and Remote Trigger calls, with what Charger answers them.
CORE_CALLS = {
    "ChangeAvailability": ({"connectorId": 1, "type": "Operative"}, {"status": "Accepted"}),
    "ChangeConfiguration": ({"key": "HeartbeatInterval", "value": "60"}, {"status": "Accepted"}),
    "ClearCache": ({}, {"status": "Accepted"}),
    "DataTransfer": ({"vendorId": "com.example"}, {"status": "UnknownVendorId"}),
    "GetConfiguration": ({"key": ["HeartbeatInterval"]}, {"configurationKey": [], "unknownKey": ["HeartbeatInterval"]}),
    "RemoteStartTransaction": ({"idTag": "CARD-1", "connectorId": 1}, {"status": "Accepted"}),
    "RemoteStopTransaction": ({"transactionId": 99}, {"status": "Accepted"}),
    "Reset": ({"type": "Soft"}, {"status": "Accepted"}),
    "TriggerMessage": ({"requestedMessage": "Heartbeat"}, {"status": "Rejected"}),
    "UnlockConnector": ({"connectorId": 1}, {"status": "Unlocked"}),
}


class ProfilesCharger(Charger):
    """A charge point with every 1.6 profile and the security extension: each call of the other
    profiles is recorded and answered as OTHER_PROFILE_CALLS says."""

    on_reserve_now = answering(Action.reserve_now, lambda: call_result.ReserveNow(status="Occupied"))
    on_cancel_reservation = answering(Action.cancel_reservation, lambda: call_result.CancelReservation(status="Rejected"))
    on_send_local_list = answering(Action.send_local_list, lambda: call_result.SendLocalList(status="VersionMismatch"))
    on_get_local_list_version = answering(Action.get_local_list_version, lambda: call_result.GetLocalListVersion(list_version=4))
    on_get_diagnostics = answering(Action.get_diagnostics, lambda: call_result.GetDiagnostics(file_name="cp1.zip"))
    on_update_firmware = answering(Action.update_firmware, lambda: call_result.UpdateFirmware())
    on_set_charging_profile = answering(Action.set_charging_profile, lambda: call_result.SetChargingProfile(status="NotSupported"))
    on_clear_charging_profile = answering(Action.clear_charging_profile, lambda: call_result.ClearChargingProfile(status="Unknown"))
    on_get_composite_schedule = answering(Action.get_composite_schedule, lambda: call_result.GetCompositeSchedule(
        status="Accepted", connector_id=1, schedule_start="2026-12-01T00:00:00Z",
        charging_schedule={"charging_rate_unit": "W", "charging_schedule_period": [{"start_period": 0, "limit": 7400.5}]}))
    on_certificate_signed = answering(Action.certificate_signed, lambda: call_result.CertificateSigned(status="Rejected"))
    on_delete_certificate = answering(Action.delete_certificate, lambda: call_result.DeleteCertificate(status="NotFound"))
    on_extended_trigger_message = answering(Action.extended_trigger_message,
                                            lambda: call_result.ExtendedTriggerMessage(status="Accepted"))
    on_get_installed_certificate_ids = answering(Action.get_installed_certificate_ids, lambda: call_result.GetInstalledCertificateIds(
        status="Accepted", certificate_hash_data=[{"hash_algorithm": "SHA256", "issuer_name_hash": "ab", "issuer_key_hash": "cd",
                                                   "serial_number": "01"}]))
    on_get_log = answering(Action.get_log, lambda: call_result.GetLog(status="Accepted", filename="sec.log"))
    on_install_certificate = answering(Action.install_certificate, lambda: call_result.InstallCertificate(status="Failed"))
    on_signed_update_firmware = answering(Action.signed_update_firmware,
                                          lambda: call_result.SignedUpdateFirmware(status="InvalidCertificate"))


class LocalListCharger(Charger):
    """A charge point with LocalAuthListManagement enabled that takes every list it is sent."""

    @on(Action.get_configuration)
    def on_get_configuration(self, key=None):
        self.inbox.put_nowait(("GetConfiguration", {"key": key}))
        values = {"SupportedFeatureProfiles": "Core,LocalAuthListManagement", "LocalAuthListEnabled": "true",
                  "LocalAuthListMaxLength": "100", "SendLocalListMaxLength": "20"}
        return call_result.GetConfiguration(configuration_key=[
            {"key": name, "readonly": name != "LocalAuthListEnabled", "value": value} for name, value in values.items()])

    on_get_local_list_version = answering(Action.get_local_list_version, lambda: call_result.GetLocalListVersion(list_version=0))
    on_send_local_list = answering(Action.send_local_list, lambda: call_result.SendLocalList(status="Accepted"))


class SmartChargingCharger(Charger):
    """A charge point with Smart Charging (profiles in A or W) that accepts every charging profile it is sent."""

    @on(Action.get_configuration)
    def on_get_configuration(self, key=None):
        self.inbox.put_nowait(("GetConfiguration", {"key": key}))
        values = {"SupportedFeatureProfiles": "Core,SmartCharging", "ChargingScheduleAllowedChargingRateUnit": "Current,Power",
                  "ChargeProfileMaxStackLevel": "8", "MaxChargingProfilesInstalled": "4"}
        return call_result.GetConfiguration(configuration_key=[
            {"key": name, "readonly": True, "value": value} for name, value in values.items() if key is None or name in key])

    on_set_charging_profile = answering(Action.set_charging_profile, lambda: call_result.SetChargingProfile(status="Accepted"))


class ReservationCharger(Charger):
    """A charge point with the Reservation profile: ReserveNow answered `reserve_answer`, CancelReservation Accepted.
    Its ReserveNow and RemoteStartTransaction calls also go to `shared` as (cp_id, action, payload), to follow several
    chargers at once."""

    def __init__(self, cp_id, ws):
        super().__init__(cp_id, ws)
        self.reserve_answer = "Accepted"
        self.shared = None

    def _tell(self, action, payload):
        self.inbox.put_nowait((action, payload))
        if self.shared is not None:
            self.shared.put_nowait((self.id, action, payload))

    @on(Action.reserve_now)
    def on_reserve_now(self, connector_id, expiry_date, id_tag, reservation_id, parent_id_tag=None):
        self._tell("ReserveNow", {"connectorId": connector_id, "expiryDate": expiry_date, "idTag": id_tag,
                                  "reservationId": reservation_id})
        return call_result.ReserveNow(status=self.reserve_answer)

    @on(Action.cancel_reservation)
    def on_cancel_reservation(self, reservation_id):
        self._tell("CancelReservation", {"reservationId": reservation_id})
        return call_result.CancelReservation(status="Accepted")

    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag, connector_id=None, charging_profile=None):
        self._tell("RemoteStartTransaction", {"idTag": id_tag, "connectorId": connector_id})
        return call_result.RemoteStartTransaction(status=self.remote_start_answer)


async def open_socket(base_url, cp_id, password, subprotocols=("ocpp1.6",), authorization=True, user=None, ssl=None, headers=None):
    """A WebSocket to /ocpp/{cp_id} with HTTP Basic credentials (user defaults to cp_id); wss:// with `ssl`."""
    url = base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1).rstrip("/")
    url += "/ocpp/" + urllib.parse.quote(cp_id, safe="")
    headers = dict(headers or {})
    if authorization and password is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user or cp_id}:{password}".encode()).decode()
    return await connect(url, subprotocols=list(subprotocols) if subprotocols else None, additional_headers=headers,
                         proxy=None, open_timeout=10, ping_interval=None, close_timeout=5, compression=None, ssl=ssl)


async def booted_charger(sc, base_url, cp_id, password, station, pile_id):
    """Connects, boots and reports Available; requires the admin to see the pile `on`."""
    charger = await Charger.open(base_url, cp_id, password)
    R.require(sc, f"charger {cp_id} connects to {base_url} with subprotocol ocpp1.6", charger.ws.subprotocol == "ocpp1.6",
              f"subprotocol {charger.ws.subprotocol!r}")
    boot = await charger.boot()
    R.require(sc, f"charger {cp_id} BootNotification Accepted", boot.status == "Accepted", f"{boot}")
    await charger.notify(0, "Available")
    ok, status = await station.wait_status(pile_id, "on")
    R.require(sc, f"pile {pile_id} is on after Boot + Available", ok, f"status {status!r}")
    return charger


# --- scenarios ----------------------------------------------------------------------------------

class Context:
    def __init__(self, args):
        self.args = args
        self.admin_user = os.environ.get("CHARGEPILE_ADMIN_USER", "admin")
        self.admin_password = os.environ["CHARGEPILE_ADMIN_PASSWORD"]
        self.pile_password = os.environ["CHARGEPILE_PILE_PASSWORD"]
        self.urls = args.instance
        self.pids = args.instance_pid
        self.lb = args.lb
        self.a = Api(self.urls[0])
        self.b = Api(self.urls[1])
        self.station_now = parse_time(args.clock_start)
        self.chargers = []
        self.token = None
        self.station_a = None
        self.station_b = None

    async def setup(self):
        self.token = await login_admin(self.a, self.admin_user, self.admin_password)
        self.station_a = Station(self.a, self.token)
        self.station_b = Station(self.b, self.token)
        clock = await self.a.ok("GET", "/admin/clock", token=self.token)
        data = clock.get("data") or clock
        print(f"station clock: {data}", flush=True)
        now = data.get("now")
        if now:
            self.station_now = parse_time(now)

    async def charger(self, sc, url, cp_id, pile_id, station):
        charger = await booted_charger(sc, url, cp_id, self.pile_password, station, pile_id)
        self.chargers.append(charger)
        return charger

    async def advance(self, minutes):
        self.station_now += dt.timedelta(minutes=minutes)
        await self.station_a.advance(self.station_now)

    async def close_all(self):
        for charger in self.chargers:
            await charger.close()
        self.chargers.clear()

    def psql(self, sql):
        result = subprocess.run([self.args.psql, self.args.database_url, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                                 "-c", sql], capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise Failure(f"psql {sql!r}: {result.stderr.strip()}")
        return result.stdout.strip()


async def scenario_a(ctx):
    """Boot, Heartbeat and the status mapping; the charger on A, the admin reading on B."""
    sc = "a"
    station = ctx.station_b
    charger = await Charger.open(ctx.urls[0], "1", ctx.pile_password)
    ctx.chargers.append(charger)
    R.check(sc, "the handshake selects subprotocol ocpp1.6", charger.ws.subprotocol == "ocpp1.6",
            f"{charger.ws.subprotocol!r}")
    boot = await charger.boot()
    R.require(sc, "BootNotification → Accepted", boot.status == "Accepted", f"{boot}")
    R.check(sc, "BootNotification currentTime is real UTC (not the station's manual clock)",
            real_time_ok(boot.current_time), f"currentTime {boot.current_time!r}")
    R.check(sc, "BootNotification interval is a positive integer",
            isinstance(boot.interval, int) and boot.interval > 0, f"interval {boot.interval!r}")
    beat = await charger.heartbeat()
    R.check(sc, "Heartbeat → currentTime in real UTC", real_time_ok(beat.current_time), f"{beat.current_time!r}")

    await charger.notify(0, "Available")
    ok, status = await station.wait_status(1, "on")
    R.require(sc, "StatusNotification(0, Available) → pile 1 on (seen on instance B)", ok, f"status {status!r}")

    for state in ("Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Available"):
        await charger.notify(1, "Unavailable")
        ok, status = await station.wait_status(1, "off")
        R.check(sc, "StatusNotification(1, Unavailable) → off", ok, f"status {status!r}")
        await charger.notify(1, state)
        ok, status = await station.wait_status(1, "on")
        R.check(sc, f"StatusNotification(1, {state}) → on", ok, f"status {status!r}")

    await charger.notify(1, "Faulted", error_code="GroundFailure", info="test fault")
    ok, status = await station.wait_status(1, "repair")
    R.check(sc, "StatusNotification(1, Faulted) → repair", ok, f"status {status!r}")
    await charger.notify(1, "Available")
    ok, status = await station.wait_status(1, "on")
    R.check(sc, "StatusNotification(1, Available) after Faulted → on", ok, f"status {status!r}")
    await charger.notify(0, "Unavailable")
    ok, status = await station.wait_status(1, "off")
    R.check(sc, "StatusNotification(0, Unavailable) → off", ok, f"status {status!r}")
    await charger.notify(0, "Faulted", error_code="OtherError")
    ok, status = await station.wait_status(1, "repair")
    R.check(sc, "StatusNotification(0, Faulted) → repair", ok, f"status {status!r}")
    await charger.notify(0, "Available")
    ok, status = await station.wait_status(1, "on")
    R.check(sc, "StatusNotification(0, Available) → on", ok, f"status {status!r}")

    await charger.close()
    ok, status = await station.wait_status(1, "offline")
    R.check(sc, "the charger closes its socket → offline", ok, f"status {status!r}")


async def scenario_b(ctx):
    """Admin status/set on instance B → ChangeAvailability(0, …) on the charger on A, and the answers."""
    sc = "b"
    station = ctx.station_b
    charger = await ctx.charger(sc, ctx.urls[0], "2", 2, station)

    async def command(status, answer, expected_type, expect_code):
        charger.availability_answer = answer
        charger.drain()
        reply = await station.set_status(2, status)
        frame = await charger.expect("ChangeAvailability", timeout=5)
        R.check(sc, f"status/set {status} (charger answers {answer}) → ChangeAvailability(0, {expected_type})",
                frame == {"connectorId": 0, "type": expected_type}, f"received {frame}")
        if expect_code == 200:
            R.check(sc, f"status/set {status} answered {answer} → {{code 200, 设置成功}}",
                    reply.get("code") == 200 and reply.get("msg") == "设置成功", f"{reply}")
        else:
            R.check(sc, f"status/set {status} answered {answer} → code -1 with a msg",
                    reply.get("code") == -1 and bool(reply.get("msg")), f"{reply}")
        return reply

    await command("off", "Accepted", "Inoperative", 200)
    await charger.notify(0, "Unavailable")  # what a real charger reports once inoperative
    ok, status = await station.wait_status(2, "off")
    R.check(sc, "after Accepted Inoperative and StatusNotification Unavailable → off", ok, f"status {status!r}")

    await command("on", "Accepted", "Operative", 200)
    await charger.notify(0, "Available")
    ok, status = await station.wait_status(2, "on")
    R.check(sc, "after Accepted Operative and StatusNotification Available → on", ok, f"status {status!r}")

    await command("off", "Scheduled", "Inoperative", 200)
    await command("on", "Accepted", "Operative", 200)
    await charger.notify(0, "Available")
    ok, status = await station.wait_status(2, "on")
    R.check(sc, "back on after Scheduled", ok, f"status {status!r}")

    await command("off", "Rejected", "Inoperative", -1)
    ok, status = await station.wait_status(2, "on", timeout=2)
    R.check(sc, "a Rejected off leaves the pile on", ok, f"status {status!r}")
    await command("off", "callerror", "Inoperative", -1)
    ok, status = await station.wait_status(2, "on", timeout=2)
    R.check(sc, "an off answered with a CALLERROR leaves the pile on", ok, f"status {status!r}")

    await command("repair", "Accepted", "Inoperative", 200)
    ok, status = await station.wait_status(2, "repair")
    R.check(sc, "status/set repair → pile repair", ok, f"status {status!r}")
    await command("on", "Accepted", "Operative", 200)
    await charger.notify(0, "Available")
    ok, status = await station.wait_status(2, "on")
    R.check(sc, "status/set on after repair → on", ok, f"status {status!r}")

    charger.drain()
    reply = await station.set_status(2, "offline")
    R.check(sc, "status/set offline → {code 200, 设置成功}", reply.get("code") == 200 and reply.get("msg") == "设置成功",
            f"{reply}")
    ok, _ = await poll(lambda: asyncio.sleep(0, charger.ws.state), lambda state: state is State.CLOSED, timeout=10)
    R.check(sc, "status/set offline closes the charger's socket", ok,
            f"state {charger.ws.state.name}, close code {charger.ws.close_code}")
    ok, status = await station.wait_status(2, "offline")
    R.check(sc, "status/set offline → offline", ok, f"status {status!r}")
    R.check(sc, "status/set offline sends no ChangeAvailability", not any(a == "ChangeAvailability" for a, _ in charger.drain()))

    # A charger that never answers: the admin gets -1 once the command's deadline passes.
    charger = await ctx.charger(sc, ctx.urls[0], "2", 2, station)
    charger.availability_answer = "silent"
    started = time.monotonic()
    reply = await station.set_status(2, "off")
    elapsed = time.monotonic() - started
    frame = await charger.expect("ChangeAvailability", timeout=2)
    R.check(sc, "a ChangeAvailability the charger never answers reached it", frame is not None, f"{frame}")
    R.check(sc, "status/set off with no answer → code -1 with a msg", reply.get("code") == -1 and bool(reply.get("msg")),
            f"{reply} after {elapsed:.1f} s")
    await charger.close()
    ok, status = await station.wait_status(2, "offline")
    R.check(sc, "closed → offline", ok, f"status {status!r}")


async def charging_session(ctx, sc, charger, station_driver, token, pile_id):
    """Waits for RemoteStartTransaction and checks its idTag against the driver's id_tag."""
    start = await charger.expect("RemoteStartTransaction")
    R.require(sc, f"the driver's request is scheduled onto pile {pile_id}: RemoteStartTransaction reaches the charger",
              start is not None, f"{start}" if start else "nothing within the deadline")
    R.check(sc, "RemoteStartTransaction connectorId 1", start.get("connectorId") == 1, f"{start}")
    view = (await station_driver.ok("GET", "/user/charge/request", token=token)).get("data") or {}
    R.check(sc, "RemoteStartTransaction idTag is the driver's id_tag (GET /user/charge/request)",
            bool(start.get("idTag")) and start.get("idTag") == view.get("id_tag"),
            f"RemoteStart idTag {start.get('idTag')!r}, id_tag {view.get('id_tag')!r}")
    R.check(sc, f"GET /user/charge/request: the car is at pile {pile_id}", view.get("pile_id") == pile_id, f"{view}")
    return start["idTag"]


async def driver_view(api, token):
    return (await api.ok("GET", "/user/charge/request", token=token)).get("data") or {}


async def bills(api, token):
    return (await api.ok("GET", "/user/charge/bills", token=token)).get("data") or []


async def scenario_c(ctx):
    """A driver's request through RemoteStart, StartTransaction, MeterValues, completion, RemoteStop, StopTransaction
    and the bill (the worked example of DriverAPITests: 30 min at 10 kW from 09:00, flat 0.7 + service 0.8)."""
    sc = "c"
    charger = await ctx.charger(sc, ctx.urls[0], "3", 3, ctx.station_b)
    ctx.pile3 = charger
    driver = await new_driver(ctx.b, "ocpp-c", 60)
    t0 = ctx.station_now
    submitted = await ctx.b.ok("POST", "/user/charge/request", token=driver, mode="T", request_quantity="5")
    print(f"  request: {submitted.get('data')}", flush=True)
    id_tag = await charging_session(ctx, sc, charger, ctx.b, driver, 3)

    auth = await charger.authorize(id_tag)
    R.check(sc, "Authorize(driver's idTag) → Accepted", auth.id_tag_info.get("status") == "Accepted", f"{auth}")
    await charger.notify(1, "Preparing")
    started = await charger.start_transaction(id_tag, 1000, t0)
    tx = started.transaction_id
    R.require(sc, "StartTransaction → a positive integer transactionId", isinstance(tx, int) and 0 < tx < 2 ** 31, f"{started}")
    R.check(sc, "StartTransaction → idTagInfo Accepted", started.id_tag_info.get("status") == "Accepted", f"{started}")
    await charger.notify(1, "Charging")
    ctx.c_transaction = tx

    await ctx.advance(15)
    await charger.meter(tx, 1000 + 2500, ctx.station_now)
    ok, view = await poll(lambda: driver_view(ctx.b, driver), lambda v: near(v.get("charged_kwh"), 2.5))
    R.check(sc, "MeterValues 2.5 kWh into the session → charged_kwh 2.5", ok, f"{view}")

    await ctx.advance(15)  # 09:30: 5 kWh at 10 kW, the request is complete
    stop = await charger.expect("RemoteStopTransaction")
    R.require(sc, "completion → RemoteStopTransaction reaches the charger", stop is not None, f"{stop}" if stop else "nothing within the deadline")
    R.check(sc, "RemoteStopTransaction carries the transactionId", stop.get("transactionId") == tx, f"{stop}, tx {tx}")
    await charger.notify(1, "Finishing")
    stopped = await charger.stop_transaction(tx, 1000 + 5000, ctx.station_now, reason="Remote", id_tag=id_tag)
    R.check(sc, "StopTransaction answered", stopped is not None, f"{stopped}")
    await charger.notify(1, "Available")

    ok, found = await poll(lambda: bills(ctx.b, driver), lambda rows: len(rows) >= 1 and near(rows[0].get("energy_kwh"), 5))
    bill = found[0] if ok else found
    R.check(sc, "a bill for meterStop − meterStart = 5 kWh", ok, f"{found}")
    if ok:
        R.check(sc, "bill fees: charging 3.5 (flat 0.7) + service 4.0 = total 7.5",
                near(bill.get("charging_fee"), 3.5) and near(bill.get("service_fee"), 4) and near(bill.get("total_fee"), 7.5),
                f"{bill}")
        R.check(sc, "bill pile_id 3", bill.get("pile_id") == 3, f"{bill}")
    ok, view = await poll(lambda: ctx.b.call("GET", "/user/charge/request", token=driver),
                          lambda answer: answer.get("code") != 200 or (answer.get("data") or {}).get("state") != "charging")
    R.check(sc, "the request is no longer charging", ok, f"{view}")


async def scenario_e(ctx):
    """Duplicate StartTransaction, a cancel with a meter below the model, a repeated StopTransaction."""
    sc = "e"
    charger = getattr(ctx, "pile3", None)
    if charger is None or not charger.is_open:
        charger = await ctx.charger(sc, ctx.urls[0], "3", 3, ctx.station_b)
    ok, status = await ctx.station_b.wait_status(3, "on")
    R.require(sc, "pile 3 on and idle", ok, f"status {status!r}")
    before = (await ctx.station_b.pile(3)) or {}
    driver = await new_driver(ctx.b, "ocpp-e", 60)
    t0 = ctx.station_now
    charger.drain()
    await ctx.b.ok("POST", "/user/charge/request", token=driver, mode="T", request_quantity="10")
    id_tag = await charging_session(ctx, sc, charger, ctx.b, driver, 3)

    first = await charger.start_transaction(id_tag, 6000, t0)
    tx = first.transaction_id
    R.require(sc, "StartTransaction → a positive integer transactionId", isinstance(tx, int) and tx > 0, f"{first}")
    previous = getattr(ctx, "c_transaction", None)
    if previous is not None:
        R.check(sc, "a new session gets a new transactionId", tx != previous, f"{tx} after {previous}")
    again = await charger.start_transaction(id_tag, 6000, t0)
    R.check(sc, "an identical StartTransaction sent again → the same transactionId", again.transaction_id == tx,
            f"first {tx}, again {again.transaction_id}")
    await charger.notify(1, "Charging")

    await ctx.advance(15)
    await charger.meter(tx, 6000 + 2000, ctx.station_now)
    ok, view = await poll(lambda: driver_view(ctx.b, driver), lambda v: near(v.get("charged_kwh"), 2))
    R.check(sc, "MeterValues below the model (2 kWh in 15 min at 10 kW) → charged_kwh 2", ok, f"{view}")

    await ctx.advance(15)
    charger.drain()
    cancelled = await ctx.b.call("POST", "/user/charge/request/cancel", token=driver)
    R.check(sc, "the driver cancels → code 200", cancelled.get("code") == 200, f"{cancelled}")
    stop = await charger.expect("RemoteStopTransaction")
    R.require(sc, "cancel → RemoteStopTransaction reaches the charger", stop is not None, f"{stop}" if stop else "nothing within the deadline")
    R.check(sc, "RemoteStopTransaction carries the transactionId", stop.get("transactionId") == tx, f"{stop}, tx {tx}")
    await charger.notify(1, "Finishing")
    await charger.stop_transaction(tx, 6000 + 4000, ctx.station_now, reason="Remote", id_tag=id_tag)
    ok, found = await poll(lambda: bills(ctx.b, driver), lambda rows: len(rows) >= 1 and near(rows[0].get("energy_kwh"), 4))
    R.check(sc, "the bill uses meterStop − meterStart = 4 kWh", ok, f"{found}")
    if ok:
        bill = found[0]
        R.check(sc, "bill fees: charging 2.8 + service 3.2 = total 6.0",
                near(bill.get("charging_fee"), 2.8) and near(bill.get("service_fee"), 3.2) and near(bill.get("total_fee"), 6),
                f"{bill}")
    ok, totals = await poll(lambda: ctx.station_b.pile(3),
                            lambda p: p and p.get("total_charging_times") == (before.get("total_charging_times") or 0) + 1)
    R.check(sc, "pile 3 totals count the session once", ok, f"before {before}, after {totals}")
    after_first = (await ctx.station_b.pile(3)) or {}

    repeated = None
    try:
        repeated = await charger.stop_transaction(tx, 6000 + 4000, ctx.station_now, reason="Remote", id_tag=id_tag)
        R.check(sc, "a repeated StopTransaction is answered with a CALLRESULT", True, f"{repeated}")
    except OCPPError as error:
        R.check(sc, "a repeated StopTransaction is answered with a CALLRESULT", False, f"CALLERROR {error!r}")
    R.check(sc, "the charger's socket is still open", charger.is_open)
    # Visible effects of the second stop, if any, would be there once the charger heard back; compare
    # against a fresh read after one more round trip on the same socket.
    await charger.heartbeat()
    rows = await bills(ctx.b, driver)
    R.check(sc, "a repeated StopTransaction bills nothing twice (one bill)", len(rows) == 1, f"{rows}")
    after = (await ctx.station_b.pile(3)) or {}
    keys = ("total_charging_times", "total_charging_power", "total_charging_duration")
    R.check(sc, "a repeated StopTransaction leaves the pile totals unchanged",
            all(after.get(key) == after_first.get(key) for key in keys), f"{after_first} → {after}")
    await charger.notify(1, "Available")
    await charger.close()
    ok, status = await ctx.station_b.wait_status(3, "offline")
    R.check(sc, "closed → offline", ok, f"status {status!r}")


async def scenario_h(ctx):
    """The charger stops a session on its own (no RemoteStop): the bill uses meterStop − meterStart."""
    sc = "h"
    charger = await ctx.charger(sc, ctx.urls[0], "3", 3, ctx.station_b)
    driver = await new_driver(ctx.b, "ocpp-h", 60)
    t0 = ctx.station_now  # 10:00, peak 1.0 until 15:00
    await ctx.b.ok("POST", "/user/charge/request", token=driver, mode="T", request_quantity="10")
    id_tag = await charging_session(ctx, sc, charger, ctx.b, driver, 3)
    started = await charger.start_transaction(id_tag, 10000, t0)
    tx = started.transaction_id
    R.require(sc, "StartTransaction → a positive integer transactionId", isinstance(tx, int) and tx > 0, f"{started}")
    await charger.notify(1, "Charging")
    await ctx.advance(20)
    await charger.meter(tx, 10000 + 2000, ctx.station_now)
    ok, view = await poll(lambda: driver_view(ctx.b, driver), lambda v: near(v.get("charged_kwh"), 2))
    R.check(sc, "MeterValues 2 kWh → charged_kwh 2", ok, f"{view}")
    charger.drain()
    await charger.notify(1, "Finishing")
    stopped = await charger.stop_transaction(tx, 10000 + 2500, ctx.station_now, reason="EVDisconnected", id_tag=id_tag)
    R.check(sc, "StopTransaction(EVDisconnected) from the charger answered", stopped is not None, f"{stopped}")
    await charger.notify(1, "Available")
    ok, found = await poll(lambda: bills(ctx.b, driver), lambda rows: len(rows) >= 1 and near(rows[0].get("energy_kwh"), 2.5))
    R.check(sc, "the bill uses meterStop − meterStart = 2.5 kWh", ok, f"{found}")
    if ok:
        bill = found[0]
        R.check(sc, "bill fees: charging 2.5 (peak 1.0) + service 2.0 = total 4.5",
                near(bill.get("charging_fee"), 2.5) and near(bill.get("service_fee"), 2) and near(bill.get("total_fee"), 4.5),
                f"{bill}")
    ok, answer = await poll(lambda: ctx.b.call("GET", "/user/charge/request", token=driver),
                            lambda a: a.get("code") != 200 or (a.get("data") or {}).get("state") != "charging")
    R.check(sc, "the driver's request no longer charges", ok, f"{answer}")
    await charger.heartbeat()
    late = [action for action, _ in charger.drain()]
    if late:
        print(f"  note: after the charger's own StopTransaction it received {late}", flush=True)
    await charger.close()
    ok, status = await ctx.station_b.wait_status(3, "offline")
    R.check(sc, "closed → offline", ok, f"status {status!r}")


async def scenario_f(ctx):
    """Malformed frames get the CALLERROR of the table; sockets stay open; nothing changes."""
    sc = "f"
    victim = await ctx.charger(sc, ctx.urls[0], "4", 4, ctx.station_b)
    bystander = await ctx.charger(sc, ctx.urls[1], "1", 1, ctx.station_a)
    before = projection(await ctx.station_b.piles())
    bills_before = ctx.psql("SELECT count(*) FROM bills")

    for number, (name, template, answer_template) in enumerate(MALFORMED):
        message_id = f"bad-{number}-{uuid.uuid4().hex[:8]}"
        text = template.replace("{id}", message_id)
        answer_id = answer_template.replace("{id}", message_id)
        expected = CODE[name]
        reply = await victim.raw(text, answer_id)
        well_formed = (isinstance(reply, list) and len(reply) == 5 and reply[0] == 4 and reply[1] == answer_id
                       and isinstance(reply[3], str) and isinstance(reply[4], dict))
        R.check(sc, f"{name}: {text[:70]}{'…' if len(text) > 70 else ''} → [4, {answer_id!r}, {expected!r}, …]",
                well_formed and reply[2] == expected, f"got {reply}")
        if not victim.is_open:
            R.check(sc, f"{name}: the socket stays open", False, f"closed with {victim.ws.close_code} {victim.ws.close_reason!r}")
            break

    # Answers are never answered: a CALLRESULT or CALLERROR for no call of ours is dropped without a reply.
    for name, text in (("a CALLRESULT for an unknown id", '[3, "{id}", {}]'),
                       ("a CALLERROR for an unknown id", '[4, "{id}", "GenericError", "", {}]')):
        message_id = f"stray-{uuid.uuid4().hex[:8]}"
        reply = await victim.raw(text.replace("{id}", message_id), message_id, timeout=0.01)
        probe = f"probe-{uuid.uuid4().hex[:8]}"
        answer = await victim.raw(f'[2, "{probe}", "Heartbeat", {{}}]', probe)
        unanswered = reply is None and not any(f'"{message_id}"' in frame for frame in victim.frames)
        R.check(sc, f"{name} gets no reply and the next Heartbeat is answered",
                unanswered and isinstance(answer, list) and answer[0] == 3, f"reply {reply}, heartbeat {answer}")

    R.check(sc, "the malformed charger's socket is still open", victim.is_open,
            f"close code {victim.ws.close_code}")
    beat = await victim.heartbeat()
    R.check(sc, "the malformed charger's Heartbeat still answered", real_time_ok(beat.current_time), f"{beat}")
    R.check(sc, "the other charger's socket (instance B) is still open", bystander.is_open,
            f"close code {bystander.ws.close_code}")
    beat = await bystander.heartbeat()
    R.check(sc, "the other charger's Heartbeat still answered", real_time_ok(beat.current_time), f"{beat}")
    after = projection(await ctx.station_b.piles())
    changed = {pile: (before.get(pile), after.get(pile)) for pile in set(before) | set(after) if before.get(pile) != after.get(pile)}
    R.check(sc, "nothing changed: status/get (status, totals, connected) as before", not changed, f"changed {changed}")
    bills_after = ctx.psql("SELECT count(*) FROM bills")
    R.check(sc, "nothing changed: no bill written", bills_before == bills_after, f"{bills_before} → {bills_after}")

    # The socket still changes state when a frame is well formed.
    await victim.notify(1, "Faulted", error_code="OtherError")
    ok, status = await ctx.station_b.wait_status(4, "repair")
    R.check(sc, "a well-formed StatusNotification(Faulted) afterwards → repair", ok, f"status {status!r}")
    await victim.notify(1, "Available")
    ok, status = await ctx.station_b.wait_status(4, "on")
    R.check(sc, "and Available → on", ok, f"status {status!r}")
    await ctx.close_all()
    for pile in (1, 4):
        ok, status = await ctx.station_b.wait_status(pile, "offline")
        R.check(sc, f"pile {pile} closed → offline", ok, f"status {status!r}")


async def refused(url, cp_id, password, subprotocols=("ocpp1.6",), authorization=True, user=None):
    """The HTTP status of a refused upgrade, or 101 when it was upgraded (the socket is closed again)."""
    try:
        ws = await open_socket(url, cp_id, password, subprotocols, authorization, user)
    except InvalidStatus as error:
        return error.response.status_code, error.response.body[:200] if error.response.body else b""
    await ws.close()
    return 101, f"upgraded, subprotocol {ws.subprotocol!r}"


async def scenario_g(ctx):
    """Handshake refusals: nothing is upgraded, nothing changes."""
    sc = "g"
    url = ctx.urls[0]
    before = projection(await ctx.station_b.piles())
    cases = [
        ("no subprotocol", dict(cp_id="5", password=ctx.pile_password, subprotocols=()), 400),
        ("another subprotocol (ocpp2.0.1)", dict(cp_id="5", password=ctx.pile_password, subprotocols=("ocpp2.0.1",)), 400),
        ("wrong password", dict(cp_id="5", password=ctx.pile_password + "-wrong"), 401),
        ("no credentials", dict(cp_id="5", password=ctx.pile_password, authorization=False), 401),
        ("credentials of another charger (user 4 on /ocpp/5)", dict(cp_id="5", password=ctx.pile_password, user="4"), 401),
        ("unknown chargePointId", dict(cp_id="CP-NO-SUCH-1", password=ctx.pile_password), 404),
    ]
    for name, kwargs, expected in cases:
        status, detail = await refused(url, **kwargs)
        R.check(sc, f"{name} → HTTP {expected}, not upgraded", status == expected, f"got {status} {detail!r}")
    after = projection(await ctx.station_b.piles())
    R.check(sc, "refused handshakes change nothing", before == after,
            f"{ {p: (before.get(p), after.get(p)) for p in before if before.get(p) != after.get(p)} }")

    # Offering several subprotocols, ocpp1.6 among them, is accepted with ocpp1.6.
    ws = await open_socket(url, "5", ctx.pile_password, ("ocpp2.0.1", "ocpp1.6"))
    R.check(sc, "offering ocpp2.0.1 and ocpp1.6 → upgraded with ocpp1.6", ws.subprotocol == "ocpp1.6",
            f"{ws.subprotocol!r}")
    await ws.close()
    ok, status = await ctx.station_b.wait_status(5, "offline")
    R.check(sc, "pile 5 offline again", ok, f"status {status!r}")


async def scenario_d(ctx):
    """kill -9 of the instance holding the charger; it reconnects through nginx and is controllable again."""
    sc = "d"
    if len(ctx.pids) < 2:
        R.check(sc, "instance pids given (--instance-pid)", False)
        return
    lb = Station(Api(ctx.lb), ctx.token)
    charger = await ctx.charger(sc, ctx.lb, "5", 5, lb)
    ok, owner = await poll(lambda: asyncio.to_thread(ctx.psql, "SELECT owner_address FROM pile_overview WHERE pile_id = 5"),
                           lambda address: bool(address))
    R.require(sc, "pile_overview names the instance holding pile 5", ok, f"owner_address {owner!r}")
    ports = [urllib.parse.urlsplit(url).port for url in ctx.urls]
    owner_port = int(owner.rsplit(":", 1)[1])
    R.require(sc, "the owner is one of the cluster's instances", owner_port in ports, f"{owner} vs {ctx.urls}")
    victim = ports.index(owner_port)
    survivor = 1 - victim
    survivor_station = Station(Api(ctx.urls[survivor]), ctx.token)
    print(f"  kill -9 instance {victim + 1} ({ctx.urls[victim]}, pid {ctx.pids[victim]}) holding pile 5", flush=True)
    os.kill(ctx.pids[victim], signal.SIGKILL)

    ok, _ = await poll(lambda: asyncio.sleep(0, charger.ws.state), lambda state: state is State.CLOSED, timeout=30)
    R.require(sc, "the charger's socket drops when its instance dies", ok, f"state {charger.ws.state.name}")

    # Reconnect through nginx, as a real charger does, until a survivor takes it.
    deadline = time.monotonic() + 30
    reconnected, last = None, None
    while reconnected is None and time.monotonic() < deadline:
        try:
            reconnected = await Charger.open(ctx.lb, "5", ctx.pile_password)
        except Exception as error:
            last = error
            await asyncio.sleep(0.5)
    R.require(sc, "the charger reconnects through nginx", reconnected is not None, f"last error {last!r}")
    ctx.chargers.append(reconnected)
    boot = await reconnected.boot()
    R.check(sc, "BootNotification after reconnecting → Accepted", boot.status == "Accepted", f"{boot}")
    await reconnected.notify(0, "Available")
    ok, status = await survivor_station.wait_status(5, "on")
    R.check(sc, "pile 5 on again (survivor's status/get)", ok, f"status {status!r}")

    # Until the survivor reaps the dead instance, its old ownership could still bite: wait for the reap.
    ok, count = await poll(lambda: asyncio.to_thread(ctx.psql, f"SELECT count(*) FROM instances WHERE address = '{owner}'"),
                           lambda value: value == "0", timeout=40, interval=0.5)
    R.check(sc, "the survivor reaps the dead instance", ok, f"rows {count!r}")
    ok, status = await survivor_station.wait_status(5, "on")
    R.check(sc, "pile 5 still on after the reap", ok, f"status {status!r}")
    new_owner = await asyncio.to_thread(ctx.psql, "SELECT owner_address FROM pile_overview WHERE pile_id = 5")
    R.check(sc, "pile 5 is held by the survivor", new_owner.endswith(f":{ports[survivor]}"), f"owner_address {new_owner!r}")

    for station, where in ((survivor_station, "the survivor"), (lb, "nginx")):
        reconnected.drain()
        reply = await station.set_status(5, "off")
        frame = await reconnected.expect("ChangeAvailability", timeout=5)
        R.check(sc, f"status/set off via {where} → ChangeAvailability(0, Inoperative) on the reconnected charger",
                frame == {"connectorId": 0, "type": "Inoperative"}, f"{frame}")
        R.check(sc, f"status/set off via {where} → {{code 200, 设置成功}}", reply.get("code") == 200, f"{reply}")
        await reconnected.notify(0, "Unavailable")
        ok, status = await survivor_station.wait_status(5, "off")
        R.check(sc, "pile 5 off", ok, f"status {status!r}")
        reply = await station.set_status(5, "on")
        frame = await reconnected.expect("ChangeAvailability", timeout=5)
        R.check(sc, f"status/set on via {where} → ChangeAvailability(0, Operative), code 200",
                frame == {"connectorId": 0, "type": "Operative"} and reply.get("code") == 200, f"{frame} {reply}")
        await reconnected.notify(0, "Available")
        ok, status = await survivor_station.wait_status(5, "on")
        R.check(sc, "pile 5 on", ok, f"status {status!r}")
    await ctx.close_all()


async def scenario_p(ctx):
    """Every central-system action through /admin/ocpp/call, and the security extension's charger calls."""
    sc = "p"
    charger = await ProfilesCharger.open(ctx.urls[0], "1", ctx.pile_password)
    ctx.chargers.append(charger)
    boot = await charger.boot()
    R.require(sc, "BootNotification → Accepted", boot.status == "Accepted", f"{boot}")

    async def operator_call(action, payload):
        return await ctx.b.call("POST", "/admin/ocpp/call", timeout=COMMAND_DEADLINE, token=ctx.token, id="1",
                                action=action, payload=json.dumps(payload))

    calls = {**CORE_CALLS, **OTHER_PROFILE_CALLS}
    R.check(sc, "the table covers the 26 central-system actions of 1.6 and its security extension", len(calls) == 26,
            f"{len(calls)}")
    for action, (payload, answer) in calls.items():
        charger.drain()
        reply = await operator_call(action, payload)
        R.check(sc, f"{action}: the charger's answer comes back as data (code 200)",
                reply.get("code") == 200 and reply.get("data") == answer, f"{reply}")
        if action in OTHER_PROFILE_CALLS:
            # The local list sync reads every charger's configuration after boot: not part of this check.
            got = [call for call in charger.drain() if call[0] != "GetConfiguration"]
            R.check(sc, f"{action}: the charger got the payload as sent (mobilityhouse validated it)",
                    got == [(action, payload)], f"{got}")

    for action, payload, why in [
        ("Dance", {}, "参数格式错误: action"),
        ("SecurityEventNotification", {"type": "x", "timestamp": "2026-12-01T00:00:00Z"}, "参数格式错误: action"),
        ("ReserveNow", {"connectorId": 1, "idTag": "A", "reservationId": 1}, "payload不符合OCPP 1.6: expiryDate: missing required field"),
        ("GetLog", {"logType": "SecurityLog", "requestId": 1, "log": {"remoteLocation": "x"}, "extra": 1},
         "payload不符合OCPP 1.6: extra: unknown field"),
    ]:
        reply = await operator_call(action, payload)
        R.check(sc, f"operator {action} {json.dumps(payload)[:40]}… refused: {why}",
                reply.get("code") == -1 and reply.get("msg") == why, f"{reply}")
    await charger.heartbeat()
    got = [call for call in charger.drain() if call[0] != "GetConfiguration"]
    R.check(sc, "the refused operator calls reached no charger", got == [], f"{got}")

    now = ocpp_time(dt.datetime.now(dt.timezone.utc))
    await charger.call(call.SecurityEventNotification(type="TamperDetectionActivated", timestamp=now, tech_info="lid open"),
                       suppress=False)
    await charger.call(call.LogStatusNotification(status="Uploaded", request_id=12), suppress=False)
    await charger.call(call.SignedFirmwareStatusNotification(status="SignatureVerified", request_id=13), suppress=False)
    signed = await charger.call(call.SignCertificate(csr="-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----"),
                                suppress=False)
    R.check(sc, "SignCertificate with an unreadable CSR → Rejected", signed.status == "Rejected", f"{signed}")
    events = await ctx.b.ok("GET", "/admin/ocpp/security-events", token=ctx.token, pile_id="1")
    R.check(sc, "the security event is visible on instance B",
            [(e["type"], e["tech_info"]) for e in events["data"]][:1] == [("TamperDetectionActivated", "lid open")], f"{events}")
    reports = ctx.psql("SELECT string_agg(kind || ':' || status || ':' || request_id, ',' ORDER BY id) FROM ocpp_status_reports "
                       "WHERE pile_id = 1")
    R.check(sc, "LogStatusNotification and SignedFirmwareStatusNotification are stored with their requestId",
            reports == "log:Uploaded:12,signed_firmware:SignatureVerified:13", reports)
    await charger.close()


async def scenario_r(ctx):
    """A firmware rollout over two chargers, one at a time, through their statuses."""
    sc = "r"
    first = await ProfilesCharger.open(ctx.urls[0], "3", ctx.pile_password)
    second = await ProfilesCharger.open(ctx.urls[1], "4", ctx.pile_password)
    ctx.chargers += [first, second]
    for charger in (first, second):
        boot = await charger.boot()
        R.require(sc, f"charger {charger.id} BootNotification → Accepted", boot.status == "Accepted", f"{boot}")
    created = await ctx.b.ok("POST", "/admin/firmware/update", token=ctx.token, piles="3,4", location="https://fw.example/cp-2.0.bin",
                             max_concurrent="1", status_timeout="2")
    operation = created["data"]["operation_id"]
    R.check(sc, "the rollout covers piles 3 and 4", created["data"]["piles"] == [3, 4], f"{created}")

    async def states():
        answer = await ctx.b.ok("GET", "/admin/ocpp/operations", token=ctx.token, id=str(operation))
        return [(row["pile_id"], row["state"], row["status"]) for row in answer["data"]]

    update = await first.expect("UpdateFirmware")
    R.require(sc, "charger 3 gets UpdateFirmware with the location", update and update.get("location") == "https://fw.example/cp-2.0.bin",
              f"{update}")
    ok, seen = await poll(states, lambda value: value == [(3, "running", None), (4, "waiting", None)])
    R.check(sc, "one charger at a time: 3 running, 4 waiting", ok, f"{seen}")
    for status in ("Downloading", "Downloaded", "Installing"):
        await first.call(call.FirmwareStatusNotification(status=status), suppress=False)
        ok, seen = await poll(states, lambda value, status=status: value[:1] == [(3, "running", status)])
        R.check(sc, f"FirmwareStatusNotification {status} → pile 3 running, status {status}", ok, f"{seen}")
    R.check(sc, "charger 4 is sent nothing while 3 installs", all(action != "UpdateFirmware" for action, _ in second.drain()))
    trigger = await first.expect("TriggerMessage")
    R.check(sc, "charger 3, silent for the status timeout, is asked for its FirmwareStatusNotification",
            trigger is not None and trigger.get("requestedMessage") == "FirmwareStatusNotification", f"{trigger}")
    await first.call(call.FirmwareStatusNotification(status="Installed"), suppress=False)
    update = await second.expect("UpdateFirmware")
    R.check(sc, "after 3 Installed, charger 4 gets UpdateFirmware", update is not None, f"{update}")
    await second.call(call.FirmwareStatusNotification(status="Downloading"), suppress=False)
    await second.call(call.FirmwareStatusNotification(status="InstallationFailed"), suppress=False)
    ok, seen = await poll(states, lambda value: value == [(3, "done", "Installed"), (4, "failed", "InstallationFailed")])
    R.check(sc, "the rollout ends: 3 done (Installed), 4 failed (InstallationFailed)", ok, f"{seen}")
    view = ctx.psql(f"SELECT string_agg(pile_id || ':' || state || ':' || status, ',' ORDER BY pile_id) FROM ocpp_operation_progress "
                    f"WHERE operation_id = {int(operation)}")
    R.check(sc, "psql: ocpp_operation_progress shows the same", view == "3:done:Installed,4:failed:InstallationFailed", view)
    await ctx.close_all()


async def scenario_v(ctx):
    """Reservations made by the queue: ReserveNow for the car next at a charger, CancelReservation when its driver
    cancels, a charger that answers Occupied still gets its car's place; an operator's window in psql."""
    sc = "v"
    shared = asyncio.Queue()
    chargers = {}
    for pile_id, url in ((3, ctx.urls[0]), (4, ctx.urls[1]), (5, ctx.urls[0])):
        charger = await ReservationCharger.open(url, str(pile_id), ctx.pile_password)
        charger.shared = shared
        ctx.chargers.append(charger)
        boot = await charger.boot()
        R.require(sc, f"charger {pile_id} BootNotification Accepted", boot.status == "Accepted", f"{boot}")
        await charger.notify(0, "Available")
        ok, status = await ctx.station_b.wait_status(pile_id, "on")
        R.require(sc, f"pile {pile_id} is on", ok, f"status {status!r}")
        chargers[str(pile_id)] = charger

    async def call_for(token):
        """The next ReserveNow or RemoteStartTransaction for this driver's idTag (calls about cars of earlier scenarios,
        re-placed when these piles came on, are skipped)."""
        id_tag = (await driver_view(ctx.b, token)).get("id_tag")
        while True:
            cp_id, action, payload = await asyncio.wait_for(shared.get(), DEADLINE)
            if payload.get("idTag") == id_tag:
                return cp_id, action, payload
            print(f"  note: charger {cp_id} received {action} {payload} for another car", flush=True)

    # Drivers ask for 30 kWh each (3 h at 10 kW) until one is queued behind another at a charger.
    drivers = []
    reservation = None
    for number in range(6):
        token = await new_driver(ctx.b, f"ocpp-v{number}-{uuid.uuid4().hex[:6]}", 60)
        await ctx.b.ok("POST", "/user/charge/request", token=token, mode="T", request_quantity="30")
        drivers.append(token)
        cp_id, action, payload = await call_for(token)
        if action == "ReserveNow":
            reservation = (cp_id, payload, token)
            break
    R.require(sc, "a car queued behind another at an OCPP charger gets ReserveNow", reservation is not None,
              f"{reservation[:2]}" if reservation else "none within six cars")
    cp_id, payload, token = reservation
    view = await driver_view(ctx.b, token)
    R.check(sc, "ReserveNow idTag is the queued driver's id_tag", payload.get("idTag") == view.get("id_tag"),
            f"{payload}, id_tag {view.get('id_tag')!r}")
    R.check(sc, "ReserveNow is for connector 1 at the charger of the car's pile",
            payload.get("connectorId") == 1 and view.get("pile_id") == int(cp_id), f"{payload}, {view}")
    expiry = parse_time(payload.get("expiryDate"))
    ahead = (expiry - dt.datetime.now(dt.timezone.utc)).total_seconds()
    R.check(sc, "ReserveNow expiry: when the car before it is expected to end, plus 15 minutes (in the future, real time)",
            15 * 60 - 120 < ahead < 24 * 3600, f"{payload.get('expiryDate')} is {ahead:.0f} s ahead")
    reservation_id = payload.get("reservationId")
    ok, state = await poll(lambda: asyncio.to_thread(ctx.psql, f"SELECT state FROM ocpp_reservations WHERE id = {int(reservation_id)}"),
                           lambda value: value == "accepted")
    R.check(sc, "psql: ocpp_reservations row accepted", ok, f"{state!r}")

    await ctx.b.ok("POST", "/user/charge/request/cancel", token=token)
    cancel = await chargers[cp_id].expect("CancelReservation")
    R.check(sc, "the driver cancels: CancelReservation with the same reservationId at the same charger",
            cancel is not None and cancel.get("reservationId") == reservation_id, f"{cancel}")
    ok, state = await poll(lambda: asyncio.to_thread(ctx.psql, f"SELECT state FROM ocpp_reservations WHERE id = {int(reservation_id)}"),
                           lambda value: value == "cancelled")
    R.check(sc, "psql: the reservation cancelled", ok, f"{state!r}")
    drivers.remove(token)

    for charger in chargers.values():
        charger.reserve_answer = "Occupied"
    token = await new_driver(ctx.b, f"ocpp-v-occupied-{uuid.uuid4().hex[:6]}", 60)
    await ctx.b.ok("POST", "/user/charge/request", token=token, mode="T", request_quantity="30")
    drivers.append(token)
    cp_id, action, payload = await call_for(token)
    R.check(sc, "the next queued car gets ReserveNow too", action == "ReserveNow", f"{cp_id} {action} {payload}")
    if action == "ReserveNow":
        occupied_id = int(payload.get("reservationId"))
        ok, state = await poll(lambda: asyncio.to_thread(ctx.psql, f"SELECT state FROM ocpp_reservations WHERE id = {occupied_id}"),
                               lambda value: value == "occupied")
        R.check(sc, "Occupied is recorded (psql); the car keeps its place in the queue", ok, f"{state!r}")
        view = await driver_view(ctx.b, token)
        R.check(sc, "the car is queued at that charger's pile", view.get("state") == "queued" and view.get("pile_id") == int(cp_id),
                f"{view}")

    # An operator's window, visible to DBAs.
    vip = f"ocpp-v-vip-{uuid.uuid4().hex[:6]}"
    await new_driver(ctx.b, vip, 60)
    start = ctx.station_now + dt.timedelta(days=1)
    made = await ctx.b.ok("POST", "/admin/reservations", token=ctx.token, id="5", username=vip, **{
        "from": start.isoformat(), "to": (start + dt.timedelta(hours=1)).isoformat()})
    window = (made.get("data") or {}).get("reservation_id")
    row = ctx.psql(f"SELECT pile_id || ':' || driver || ':' || state FROM reservation_status WHERE id = {int(window)}")
    R.check(sc, "POST /admin/reservations: the window is in psql (reservation_status)", row == f"5:{vip}:active", row)
    bad = await ctx.b.call("POST", "/admin/reservations", token=ctx.token, id="5", username=vip, **{"from": "soon", "to": "later"})
    R.check(sc, "a bad time is -1", bad.get("code") == -1, f"{bad}")
    await ctx.b.ok("POST", "/admin/reservations/cancel", token=ctx.token, reservation_id=str(window))
    row = ctx.psql(f"SELECT state FROM reservation_status WHERE id = {int(window)}")
    R.check(sc, "POST /admin/reservations/cancel: cancelled in psql", row == "cancelled", row)

    for token in drivers:
        await ctx.b.call("POST", "/user/charge/request/cancel", token=token)
    await ctx.close_all()


async def scenario_l(ctx):
    """The local authorization list kept in sync with the idTags."""
    sc = "l"
    await new_driver(ctx.a, "local-list-driver", 60)
    driver_tag = ctx.psql("SELECT id_tag FROM drivers WHERE username = 'local-list-driver'")
    charger = await LocalListCharger.open(ctx.urls[0], "5", ctx.pile_password)
    ctx.chargers.append(charger)
    boot = await charger.boot()
    R.require(sc, "BootNotification → Accepted", boot.status == "Accepted", f"{boot}")
    read = await charger.expect("GetConfiguration")
    R.check(sc, "after boot its local list configuration is read",
            read is not None and set(read.get("key") or []) >= {"SupportedFeatureProfiles", "LocalAuthListEnabled"}, f"{read}")
    R.check(sc, "then its list version", await charger.expect("GetLocalListVersion") is not None)
    full = await charger.expect("SendLocalList")
    tags = {entry["idTag"]: entry.get("idTagInfo", {}).get("status") for entry in (full or {}).get("localAuthorizationList", [])}
    R.check(sc, "a full list (version 1) with the driver's idTag Accepted",
            full is not None and full.get("updateType") == "Full" and full.get("listVersion") == 1 and tags.get(driver_tag) == "Accepted",
            f"{full}")
    await ctx.b.ok("POST", "/admin/idtags", token=ctx.token, id_tag="LL-CARD", username="local-list-driver", blocked="true")
    update = await charger.expect("SendLocalList")
    R.check(sc, "a card blocked on instance B → a differential update with it Blocked",
            update is not None and update.get("updateType") == "Differential"
            and update.get("localAuthorizationList") == [{"idTag": "LL-CARD", "idTagInfo": {"status": "Blocked"}}], f"{update}")
    R.check(sc, "then ClearCache", await charger.expect("ClearCache") is not None)
    ok, status = await poll(lambda: asyncio.to_thread(ctx.psql, "SELECT list_version || ':' || current FROM ocpp_local_list_status "
                                                               "WHERE pile_id = 5"), lambda value: value == "2:true")
    R.check(sc, "psql: ocpp_local_list_status says version 2, current", ok, status)
    await ctx.close_all()


def profile_limit(payload):
    """(connectorId, purpose, kind, unit, [limits]) of a SetChargingProfile payload (camelCase)."""
    profile = (payload or {}).get("csChargingProfiles") or {}
    schedule = profile.get("chargingSchedule") or {}
    return (payload or {}).get("connectorId"), profile.get("chargingProfilePurpose"), profile.get("chargingProfileKind"), \
        schedule.get("chargingRateUnit"), [period.get("limit") for period in schedule.get("chargingSchedulePeriod") or []]


async def scenario_s(ctx):
    """Load management: the station's power limit reaches a Smart Charging charger as SetChargingProfile."""
    sc = "s"
    charger = await SmartChargingCharger.open(ctx.urls[0], "3", ctx.pile_password)
    ctx.chargers.append(charger)
    boot = await charger.boot()
    R.require(sc, "BootNotification → Accepted", boot.status == "Accepted", f"{boot}")
    await charger.notify(0, "Available")
    ok, status = await ctx.station_b.wait_status(3, "on")
    R.require(sc, "pile 3 is on after Boot + Available", ok, f"status {status!r}")
    first_command = int(ctx.psql("SELECT coalesce(max(id), 0) FROM pile_commands"))
    try:
        await ctx.b.ok("POST", "/admin/station/set", token=ctx.token, id="1", power_limit_kw="6")
        driver = await new_driver(ctx.b, "ocpp-s", 60)
        await ctx.b.ok("POST", "/user/charge/request", token=driver, mode="T", request_quantity="5")
        read = await charger.expect("GetConfiguration")
        if read is not None and "ChargingScheduleAllowedChargingRateUnit" not in (read.get("key") or []):
            read = await charger.expect("GetConfiguration")  # the local list sync's read came first
        R.check(sc, "first the unit its profiles take is read (GetConfiguration ChargingScheduleAllowedChargingRateUnit)",
                read is not None and "ChargingScheduleAllowedChargingRateUnit" in (read.get("key") or []), f"{read}")
        profile = await charger.expect("SetChargingProfile")
        R.require(sc, "the car's share reaches the charger as SetChargingProfile", profile is not None, "" if profile else "nothing within the deadline")
        connector, purpose, kind, unit, limits = profile_limit(profile)
        R.check(sc, "a TxDefaultProfile on connector 0, Relative, in W, one period of the limit's 6000 W",
                (connector, purpose, kind, unit, limits) == (0, "TxDefaultProfile", "Relative", "W", [6000]), f"{profile}")
        R.check(sc, "at the charger's ChargeProfileMaxStackLevel (8)", profile["csChargingProfiles"].get("stackLevel") == 8, f"{profile}")
        id_tag = await charging_session(ctx, sc, charger, ctx.b, driver, 3)
        ok, rows = await poll(lambda: asyncio.to_thread(ctx.psql, f"""
            SELECT string_agg(state || ':' || coalesce(answer->>'status', ''), ',' ORDER BY id) FROM pile_commands
            WHERE pile_id = 3 AND id > {first_command} AND instruction ? 'setPower'"""), lambda value: value == "written:Accepted")
        R.check(sc, "psql: the limit's pile_commands row is written with the charger's Accepted", ok, rows)
        ok, station = await poll(lambda: ctx.b.ok("GET", "/admin/station/get", token=ctx.token, id="1"),
                                 lambda answer: near(answer["data"].get("allocated_kw"), 6))
        R.check(sc, "GET /admin/station/get on B: 6 kW allocated", ok, f"{station}")
        started = await charger.start_transaction(id_tag, 0, ctx.station_now)
        tx = started.transaction_id
        R.require(sc, "StartTransaction → a transactionId", isinstance(tx, int) and tx > 0, f"{started}")
        await charger.notify(1, "Charging")

        await ctx.b.ok("POST", "/admin/station/set", token=ctx.token, id="1", power_limit_kw="5")
        lower = await charger.expect("SetChargingProfile")
        R.check(sc, "a lower station limit → another SetChargingProfile with 5000 W, the same profile id",
                lower is not None and profile_limit(lower)[4] == [5000]
                and lower["csChargingProfiles"].get("chargingProfileId") == profile["csChargingProfiles"].get("chargingProfileId"),
                f"{lower}")

        boot = await charger.boot()
        R.check(sc, "BootNotification again (the charger rebooted) → Accepted", boot.status == "Accepted", f"{boot}")
        read = await charger.expect("GetConfiguration")
        if read is not None and "ChargeProfileMaxStackLevel" not in (read.get("key") or []):
            read = await charger.expect("GetConfiguration")  # the local list sync's read came first
        R.check(sc, "after the boot its smart charging configuration is read (GetConfiguration of the three keys)",
                read is not None and {"ChargingScheduleAllowedChargingRateUnit", "ChargeProfileMaxStackLevel",
                                      "MaxChargingProfilesInstalled"} <= set(read.get("key") or []), f"{read}")
        again = await charger.expect("SetChargingProfile")
        R.check(sc, "the rebooted charger, whose profiles may be gone, is sent its 5000 W again",
                again is not None and profile_limit(again)[4] == [5000] and again["csChargingProfiles"].get("stackLevel") == 8,
                f"{again}")
    finally:
        await ctx.b.ok("POST", "/admin/station/set", token=ctx.token, id="1", power_limit_kw="none")
    await ctx.b.ok("POST", "/user/charge/request/cancel", token=driver)
    stop = await charger.expect("RemoteStopTransaction")
    R.check(sc, "cancel → RemoteStopTransaction", stop is not None and stop.get("transactionId") == tx, f"{stop}")
    await charger.stop_transaction(tx, 100, ctx.station_now, reason="Remote", id_tag=id_tag)
    await charger.notify(1, "Available")
    await charger.close()
    ok, status = await ctx.station_b.wait_status(3, "offline")
    R.check(sc, "closed → offline", ok, f"status {status!r}")


async def scenario_o(ctx):
    """A charger that was offline replays its backlog: sessions recorded and billed once, schedule untouched."""
    sc = "o"
    # Station time moves to the next 12:00 (local), so the replayed sessions fall in the peak (1.0 + service 0.8).
    local = ctx.station_now.astimezone(STATION_ZONE)
    noon = local.replace(hour=12, minute=0, second=0, microsecond=0)
    if noon <= local:
        noon += dt.timedelta(days=1)
    await ctx.advance((noon - local).total_seconds() / 60)
    now = ctx.station_now
    token = await new_driver(ctx.a, "ocpp-o", 60)
    await new_driver(ctx.a, "ocpp-o-blocked", 60)
    await ctx.a.ok("POST", "/admin/idtags", token=ctx.token, id_tag="OFFLINE-CARD", username="ocpp-o")
    await ctx.a.ok("POST", "/admin/idtags", token=ctx.token, id_tag="OFFLINE-BLOCKED", username="ocpp-o-blocked", blocked="true")
    charger = await ctx.charger(sc, ctx.urls[1], "4", 4, ctx.station_a)
    # The station's own commands to the pile (the local list sync's calls are not the schedule's).
    schedule_commands = ("SELECT count(*) FROM pile_commands WHERE pile_id = 4 "
                         "AND (status IS NOT NULL OR instruction ? 'startCharging' OR instruction ? 'stopCharging')")
    commands_before = ctx.psql(schedule_commands)

    # The backlog, in the order the charger queued it: session 1 (10:00–10:30, 4 kWh) stopped under the
    # transactionId it is given, session 2 (10:40–11:00, 1.5 kWh) stopped under −1, session 3 (11:10–11:20,
    # 1 kWh) on a card blocked meanwhile.
    def at(minutes_before_noon):
        return now - dt.timedelta(minutes=minutes_before_noon)

    async def replay():
        first = await charger.start_transaction("OFFLINE-CARD", 1000, at(120))
        await charger.meter(first.transaction_id, 3000, at(105))
        await charger.call(call.StopTransaction(
            transaction_id=first.transaction_id, meter_stop=5000, timestamp=ocpp_time(at(90)), reason="EVDisconnected",
            id_tag="OFFLINE-CARD", transaction_data=[
                {"timestamp": ocpp_time(at(120)), "sampled_value": [{"value": "1000", "context": "Transaction.Begin"}]},
                {"timestamp": ocpp_time(at(90)), "sampled_value": [{"value": "5000", "context": "Transaction.End"}]}]),
            suppress=False)
        second = await charger.start_transaction("OFFLINE-CARD", 5000, at(80))
        await charger.stop_transaction(-1, 6500, at(60), reason="Local", id_tag="OFFLINE-CARD")
        third = await charger.start_transaction("OFFLINE-BLOCKED", 6500, at(50))
        stopped = await charger.stop_transaction(third.transaction_id, 7500, at(40), reason="Local", id_tag="OFFLINE-BLOCKED")
        return first, second, third, stopped

    first, second, third, stopped = await replay()
    R.check(sc, "replayed StartTransaction (2 h ago) → Accepted with a transactionId",
            first.id_tag_info["status"] == "Accepted" and first.transaction_id > 0, f"{first}")
    R.check(sc, "replayed StartTransaction of a blocked card → Blocked, with a transactionId",
            third.id_tag_info["status"] == "Blocked" and third.transaction_id > 0, f"{third}")
    R.check(sc, "its StopTransaction → idTagInfo Blocked", (stopped.id_tag_info or {}).get("status") == "Blocked", f"{stopped}")
    ok, found = await poll(lambda: bills(ctx.a, token), lambda rows: len(rows) == 2)
    R.require(sc, "the driver has two bills", ok, f"{found}")
    energies = sorted(float(row["energy_kwh"]) for row in found)
    totals = sorted(float(row["total_fee"]) for row in found)
    R.check(sc, "bills at meterStop − meterStart: 1.5 and 4 kWh", energies == [1.5, 4.0], f"{found}")
    R.check(sc, "fees at the peak: 1.5 × 1.8 = 2.7 and 4 × 1.8 = 7.2", totals == [2.7, 7.2], f"{found}")
    first_bill = next((row for row in found if near(row["energy_kwh"], 4)), {})
    R.check(sc, "the bill keeps the charger's times (10:00–10:30)",
            parse_time(first_bill.get("start_time") or first_bill.get("started_at") or "1970-01-01T00:00:00Z") == at(120),
            f"{first_bill}")
    blocked = ctx.psql("SELECT string_agg(energy_kwh::float8::text, ',') FROM bills b JOIN drivers d ON d.id = b.driver_id "
                       "WHERE d.username = 'ocpp-o-blocked'")
    R.check(sc, "the blocked card's session is billed to its driver (1 kWh)", blocked == "1", blocked)

    again = await replay()
    R.check(sc, "the backlog replayed again gets the same transactionIds",
            [a.transaction_id for a in again[:3]] == [first.transaction_id, second.transaction_id, third.transaction_id],
            f"{again}")
    sessions = ctx.psql("SELECT count(*) || ':' || count(bill_id) FROM ocpp_offline_sessions WHERE pile_id = 4")
    R.check(sc, "psql: ocpp_offline_sessions has three sessions, each billed once", sessions == "3:3", sessions)
    R.check(sc, "still two bills for the driver", len(await bills(ctx.a, token)) == 2)

    queue = await ctx.a.ok("GET", "/admin/charge/queue", token=ctx.token, id="4")
    R.check(sc, "the pile's queue is empty: the engine never took the replayed sessions", not queue.get("data"), f"{queue}")
    commands_after = ctx.psql(schedule_commands)
    R.check(sc, "the station sent the charger no status, start or stop for them", commands_after == commands_before, f"{commands_before} → {commands_after}")
    view = await ctx.a.call("GET", "/user/charge/request", token=token)
    R.check(sc, "the driver has no request running", (view.get("data") or {}).get("state") in (None, "finished", "cancelled"), f"{view}")
    await charger.close()


class CertificateCharger(Charger):
    """A charge point that installs the certificate CertificateSigned brings (recorded in `inbox`, answered Accepted)."""

    on_certificate_signed = answering(Action.certificate_signed, lambda: call_result.CertificateSigned(status="Accepted"))


def tls_context(certs, client=None):
    """Trusts the test CA for nginx's certificate; presents `client` (a (certificate, key) pair of files) when given."""
    import ssl
    context = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
    if client:
        context.load_cert_chain(*client)
    return context


async def tls_refused(url, cp_id, password, ssl=None, authorization=True, headers=None):
    """Like `refused`, through TLS: the HTTP status, or 101 when upgraded (closed again at once)."""
    try:
        ws = await open_socket(url, cp_id, password, authorization=authorization, ssl=ssl, headers=headers)
    except InvalidStatus as error:
        return error.response.status_code
    await ws.close()
    return 101


def set_profile(ctx, pile_id, profile):
    """`chargepile pile set N --security-profile P` on the cluster's database, as an operator would."""
    result = subprocess.run([os.environ["CHARGEPILE_BIN"], "pile", "set", str(pile_id), "--security-profile", str(profile)],
                            env={**os.environ, "DATABASE_URL": ctx.args.database_url}, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise Failure(f"pile set {pile_id} --security-profile {profile}: {result.stderr.strip()}")


async def scenario_t(ctx):
    """Security profiles 2 and 3 through nginx's TLS port: wss with Basic, a client certificate, SignCertificate → CertificateSigned"""
    sc = "t"
    tls_url, certs = os.environ.get("OCPP_TEST_TLS_URL"), os.environ.get("OCPP_TEST_CERTS")
    R.require(sc, "the cluster has a TLS port and test certificates (scripts/ocpp-test)", bool(tls_url and certs), f"{tls_url} {certs}")
    work = os.path.join(certs, "scenario-t")
    os.makedirs(work, exist_ok=True)
    try:
        set_profile(ctx, 4, 2)
        set_profile(ctx, 5, 3)
        # Profile 2: TLS only. Neither plain ws:// nor a client's own claim of TLS opens it.
        R.check(sc, "profile 2, ws:// through nginx → 403", await tls_refused(ctx.lb, "4", ctx.pile_password) == 403)
        forged = {"X-Chargepile-TLS": "on", "X-Chargepile-Client-Verify": "SUCCESS", "X-Chargepile-Client-Subject": "CN=4"}
        R.check(sc, "profile 2, ws:// with forged X-Chargepile-TLS headers → 403 (nginx replaces them)",
                await tls_refused(ctx.lb, "4", ctx.pile_password, headers=forged) == 403)
        R.check(sc, "profile 2, wss:// with a wrong password → 401",
                await tls_refused(tls_url, "4", ctx.pile_password + "-wrong", ssl=tls_context(certs)) == 401)
        charger = await CertificateCharger.open(tls_url, "4", ctx.pile_password, ssl=tls_context(certs))
        ctx.chargers.append(charger)
        R.require(sc, "profile 2, wss:// with Basic → upgraded with ocpp1.6", charger.ws.subprotocol == "ocpp1.6")
        boot = await charger.boot()
        R.require(sc, "BootNotification over TLS → Accepted", boot.status == "Accepted", f"{boot}")
        await charger.notify(0, "Available")
        ok, status = await ctx.station_b.wait_status(4, "on")
        R.check(sc, "pile 4 is on (seen on instance B)", ok, f"status {status!r}")

        # The charger moves itself to profile 3: a key and a CSR in its own name, signed by the operator's CA.
        key, csr = os.path.join(work, "cp4.key"), os.path.join(work, "cp4.csr")
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                        "-subj", "/O=chargepile test operator/CN=4", "-out", csr], check=True, capture_output=True, timeout=30)
        with open(csr) as file:
            signed = await charger.call(call.SignCertificate(csr=file.read()), suppress=False)
        R.check(sc, "SignCertificate with a CSR for CN=4 → Accepted", signed.status == "Accepted", f"{signed}")
        delivered = await charger.expect("CertificateSigned")
        R.require(sc, "then CertificateSigned reaches the charger", delivered is not None, "" if delivered else "nothing within the deadline")
        certificate = os.path.join(work, "cp4.crt")
        with open(certificate, "w") as file:
            file.write(delivered["certificateChain"])
        verified = subprocess.run(["openssl", "verify", "-CAfile", os.path.join(certs, "ca.crt"), certificate],
                                  capture_output=True, text=True, timeout=30)
        R.check(sc, "openssl verifies the chain against the operator's CA", verified.returncode == 0, verified.stdout + verified.stderr)
        subject = subprocess.run(["openssl", "x509", "-in", certificate, "-noout", "-subject", "-nameopt", "RFC2253"],
                                 capture_output=True, text=True, timeout=30).stdout.strip()
        R.check(sc, "its subject names the charger (CN=4)", subject.startswith("subject=CN=4"), subject)
        stored = ctx.psql("SELECT string_agg(answer || ':' || (certificate IS NOT NULL)::text, ',') FROM ocpp_certificate_requests "
                          "WHERE pile_id = 4")
        R.check(sc, "psql: the request is kept with its certificate", stored == "Accepted:true", stored)
        await charger.close()

        set_profile(ctx, 4, 3)
        R.check(sc, "profile 3, wss:// with Basic but no client certificate → 403",
                await tls_refused(tls_url, "4", ctx.pile_password, ssl=tls_context(certs)) == 403)
        again = await CertificateCharger.open(tls_url, "4", None, ssl=tls_context(certs, (certificate, key)), authorization=False)
        ctx.chargers.append(again)
        R.require(sc, "profile 3, wss:// with the certificate it was just issued (no Basic) → upgraded", again.ws.subprotocol == "ocpp1.6")
        boot = await again.boot()
        R.check(sc, "BootNotification with the issued certificate → Accepted", boot.status == "Accepted", f"{boot}")
        await again.close()

        # Profile 3 with certificates made by scripts/test-certificates.
        own = (os.path.join(certs, "client-5.crt"), os.path.join(certs, "client-5.key"))
        other = (os.path.join(certs, "client-4.crt"), os.path.join(certs, "client-4.key"))
        rogue = (os.path.join(certs, "rogue-client.crt"), os.path.join(certs, "rogue-client.key"))
        R.check(sc, "profile 3, ws:// → 403", await tls_refused(ctx.lb, "5", ctx.pile_password) == 403)
        R.check(sc, "profile 3, pile 4's certificate on /ocpp/5 → 403 (CN mismatch)",
                await tls_refused(tls_url, "5", ctx.pile_password, ssl=tls_context(certs, other)) == 403)
        R.check(sc, "profile 3, a certificate for CN=5 from another CA → refused by nginx (400)",
                await tls_refused(tls_url, "5", ctx.pile_password, ssl=tls_context(certs, rogue)) == 400)
        charger5 = await Charger.open(tls_url, "5", None, ssl=tls_context(certs, own), authorization=False)
        ctx.chargers.append(charger5)
        R.require(sc, "profile 3, its own certificate (CN=5), no Basic → upgraded", charger5.ws.subprotocol == "ocpp1.6")
        boot = await charger5.boot()
        R.check(sc, "BootNotification → Accepted", boot.status == "Accepted", f"{boot}")
        await charger5.notify(0, "Available")
        ok, status = await ctx.station_b.wait_status(5, "on")
        R.check(sc, "pile 5 is on (seen on instance B)", ok, f"status {status!r}")
        await charger5.close()
        refusals = ctx.psql("SELECT count(*) FROM auth_events WHERE role = 'pile' AND username IN ('4', '5') AND outcome = 'failure'")
        R.check(sc, "psql: the refused handshakes are in the audit trail", int(refusals) >= 6, refusals)
    finally:
        set_profile(ctx, 4, 1)
        set_profile(ctx, 5, 1)
    ok, status = await ctx.station_b.wait_status(5, "offline")
    R.check(sc, "closed → offline", ok, f"status {status!r}")


SCENARIOS = {"a": scenario_a, "b": scenario_b, "c": scenario_c, "e": scenario_e, "h": scenario_h, "f": scenario_f,
             "g": scenario_g, "p": scenario_p, "l": scenario_l, "r": scenario_r, "s": scenario_s, "o": scenario_o,
             "t": scenario_t, "v": scenario_v, "d": scenario_d}


async def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instance", action="append", required=True, help="base URL of an instance (two: A then B)")
    parser.add_argument("--instance-pid", action="append", type=int, default=[], help="pid of each instance, same order")
    parser.add_argument("--lb", required=True, help="base URL of nginx in front of the instances")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--psql", default="psql")
    parser.add_argument("--clock-start", required=True, help="the --clock-start the instances got")
    parser.add_argument("--only", default="", help="comma-separated scenarios, e.g. a,b (default: all, d last)")
    parser.add_argument("--verbose", action="store_true", help="log every OCPP frame")
    args = parser.parse_args()
    if len(args.instance) < 2:
        parser.error("two --instance URLs are needed")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.CRITICAL, format="%(asctime)s %(name)s %(message)s")

    ctx = Context(args)
    await ctx.setup()
    chosen = [name for name in SCENARIOS if not args.only or name in args.only.split(",")]
    for name in chosen:
        function = SCENARIOS[name]
        print(f"\n== scenario {name}: {function.__doc__.strip().splitlines()[0]}", flush=True)
        try:
            await asyncio.wait_for(function(ctx), SCENARIO_TIMEOUT)
        except Failure as error:
            R.check(name, "scenario stopped", False, str(error))
        except asyncio.TimeoutError:
            R.check(name, f"scenario finished within {SCENARIO_TIMEOUT:.0f} s", False, "timed out")
        except Exception as error:
            R.check(name, "scenario raised", False, f"{error!r}")
            traceback.print_exc(limit=-4)
        finally:
            try:
                await asyncio.wait_for(ctx.close_all(), 20)
            except Exception as error:
                print(f"  note: closing chargers: {error!r}", flush=True)

    print(f"\nocpp-test: {R.passed} passed, {R.failed} failed", flush=True)
    if R.failures:
        print("failures:", flush=True)
        for line in R.failures:
            print("  " + line, flush=True)
    return 1 if R.failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
