"""A stateful fake of the TTLock Open API v3 (vendors/README.md §2), enough for the adapter.

Everything answers HTTP 200; failures are an `errcode` in the JSON body. Writes go "through the
gateway" synchronously (addType/changeType/deleteType 2) and return the lock's result. Each lock
is paired to a gateway; the gateway can go offline (-3002) or the lock out of its range
(-3036), and gateway/list + gateway/listLock say which locks an online gateway reaches.
`keyboardPwd` is an integer in the API, so a leading 0 is lost. A lock whose admin rights the
account lost answers -2018 to everything and drops out of lock/list; a lock that does not
support gateway passcodes answers -4043. lock/detail carries the lock's `timezoneRawOffset`.
`busy_next_writes` answers the next writes -3003 (gateway busy) or `busy_errcode` (-3037, lock
busy) without applying them; `rate_limited` answers every call `quota_errcode` (30006/30007).
With `gateway_write_seconds` a write takes that long through its lock's gateway, which carries
one write at a time: another write through the same gateway meanwhile is answered -3003.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from tests.fakes.server import FakeRequest, FakeResponse, Switches

CLIENT_ID = "ttlock-client"
CLIENT_SECRET = "ttlock-secret"


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - TTLock's protocol


def _error(errcode: int, errmsg: str) -> FakeResponse:
    return FakeResponse(200, {"errcode": errcode, "errmsg": errmsg, "description": errmsg})


def _too_simple(pin: str) -> bool:
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:], strict=False)}
    return len(set(pin)) == 1 or steps in ({1}, {-1})


class FakeTTLock(Switches):
    def __init__(self, *, username: str = "host@example.com", password: str = "s3cret") -> None:  # noqa: S107
        super().__init__()
        self.users = {username: md5(password)}
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.capacity = 250
        self.quota_errcode = 30006
        self.busy_next_writes = 0
        self.busy_errcode = -3003
        self.gateway_write_seconds = 0.0
        self.gateway_busy_until: dict[int, float] = {}
        self.locks: dict[int, dict] = {}
        self.codes_by_lock: dict[int, dict[int, dict]] = {}
        self.next_pwd_id = 24000
        self.token_grants: list[str] = []
        self.gateways: dict[int, dict] = {}
        self.gateway_locks: dict[int, set[int]] = {}

    # -- set-up helpers used by tests --

    def add_gateway(self) -> int:
        gateway_id = 700000 + len(self.gateways) + 1
        self.gateways[gateway_id] = {
            "gatewayId": gateway_id,
            "gatewayMac": "52:C1:9D:00:00:%02X" % (gateway_id % 256),
            "gatewayVersion": 2,
            "networkName": "home-wifi",
            "lockNum": 0,
            "isOnline": 1,
        }
        self.gateway_locks[gateway_id] = set()
        return gateway_id

    def add_lock(
        self, name: str = "Front door", *, battery: int = 90, gateway: int | None = None
    ) -> int:
        """A lock paired to `gateway` (a new gateway of its own when not given)."""
        lock_id = 3000000 + len(self.locks) + 1
        self.locks[lock_id] = {
            "lockId": lock_id,
            "lockName": f"S31_{lock_id}",
            "lockAlias": name,
            "lockMac": "AA:BB:CC:DD:EE:%02X" % (lock_id % 256),
            "electricQuantity": battery,
            "featureValue": "F44354CD5F3",
            "hasGateway": 1,
            "lockData": "opaque",
            "groupId": 0,
            "groupName": "",
            "date": int(time.time() * 1000),
            "online": True,  # in range of its gateway
            "admin": True,  # the account is still the lock's admin
            "supports_gateway_passcodes": True,
            "timezoneRawOffset": 0,
        }
        self.codes_by_lock[lock_id] = {}
        gateway = gateway or self.add_gateway()
        self.gateway_locks[gateway].add(lock_id)
        self.gateways[gateway]["lockNum"] += 1
        return lock_id

    def add_code_by_hand(self, lock_id: int, *, code: str, name: str) -> int:
        with self.lock:
            return self._store(lock_id, {"keyboardPwd": code, "keyboardPwdName": name})

    def set_offline(self, lock_id: int, offline: bool = True) -> None:
        """The lock is out of its gateway's range (the gateway itself stays online)."""
        self.locks[lock_id]["online"] = not offline

    def set_gateway_offline(self, lock_id: int, offline: bool = True) -> None:
        for gateway_id, lock_ids in self.gateway_locks.items():
            if lock_id in lock_ids:
                self.gateways[gateway_id]["isOnline"] = 0 if offline else 1

    def set_battery(self, lock_id: int, percent: int) -> None:
        self.locks[lock_id]["electricQuantity"] = percent

    def fill(self, lock_id: int) -> None:
        self.capacity = len(self.codes_by_lock[lock_id])

    def expire_tokens(self) -> None:
        """Access tokens stop working; refresh tokens still do."""
        self.access_tokens.clear()

    def revoke(self) -> None:
        """The password changed: nothing issued before works."""
        self.access_tokens.clear()
        self.refresh_tokens.clear()
        self.users = {name: md5("changed") for name in self.users}

    def codes(self, lock_id: int) -> list[dict]:
        return list(self.codes_by_lock[lock_id].values())

    # -- the API --

    def _gateway_online(self, lock_id: int) -> bool:
        return any(
            self.gateways[g]["isOnline"] for g, ids in self.gateway_locks.items() if lock_id in ids
        )

    def _store(self, lock_id: int, form: dict) -> int:
        self.next_pwd_id += 1
        now = int(time.time() * 1000)
        self.codes_by_lock[lock_id][self.next_pwd_id] = {
            "keyboardPwdId": self.next_pwd_id,
            "lockId": lock_id,
            # An integer on the way in: "048263" arrives as 48263.
            "keyboardPwd": str(int(form["keyboardPwd"])),
            "keyboardPwdName": form.get("keyboardPwdName", ""),
            # The documentation's own example gives the type as a string.
            "keyboardPwdType": str(form.get("keyboardPwdType", 3)),
            "startDate": int(form.get("startDate") or 0),
            "endDate": int(form.get("endDate") or 0),
            "sendDate": now,
            "isCustom": 1,
            "senderUsername": "host",
        }
        return self.next_pwd_id

    def _issue(self) -> dict:
        access, refresh = secrets.token_hex(16), secrets.token_hex(16)
        self.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "uid": 2340,
            "expires_in": 7776000,
        }

    def _oauth(self, form: dict) -> FakeResponse:
        client_id = form.get("clientId") or form.get("client_id")
        client_secret = form.get("clientSecret") or form.get("client_secret")
        if client_id != CLIENT_ID or client_secret != CLIENT_SECRET:
            return _error(10001, "invalid client")
        grant = form.get("grant_type", "password")
        self.token_grants.append(grant)
        if grant == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return _error(10011, "invalid refresh_token")
            self.refresh_tokens.discard(form["refresh_token"])
            return FakeResponse(200, self._issue())
        password = form.get("password", "")
        if len(password) != 32:
            return _error(30005, "password must be md5 encrypted")
        if self.users.get(form.get("username")) != password:
            return _error(10007, "invalid account or invalid password")
        return FakeResponse(200, self._issue())

    def handle(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            self.calls.append((request.method, request.path))
            form = request.query if request.method == "GET" else request.form
            if request.path == "/oauth2/token":
                return self._oauth(form)
            if form.get("clientId") != CLIENT_ID:
                return _error(10000, "invalid client_id")
            if form.get("accessToken") not in self.access_tokens:
                return _error(10004, "invalid token")
            if abs(int(form.get("date") or 0) - time.time() * 1000) > 5 * 60 * 1000:
                return _error(80000, "date must be current time, in 5 minutes")
            if self.rate_limited:
                return _error(self.quota_errcode, "exceeded API call limits")
            return self._route(request.path, form)

    def _lock_or_error(self, form: dict) -> dict | FakeResponse:
        lock = self.locks.get(int(form.get("lockId") or 0))
        return lock if lock is not None else _error(-1003, "lock does not exist")

    def _public(self, lock: dict) -> dict:
        hidden = ("online", "admin", "supports_gateway_passcodes", "timezoneRawOffset")
        return {k: v for k, v in lock.items() if k not in hidden}

    def _gateway_route(self, path: str, form: dict) -> FakeResponse:
        if path == "/v3/gateway/list":
            page_no, page_size = int(form.get("pageNo", 1)), int(form.get("pageSize", 20))
            return FakeResponse(200, self._page(list(self.gateways.values()), page_no, page_size))
        gateway_id = int(form.get("gatewayId") or 0)
        if gateway_id not in self.gateways:
            return _error(-4037, "gateway does not exist")
        near = [
            {"lockId": i, "lockMac": self.locks[i]["lockMac"], "rssi": -60}
            for i in sorted(self.gateway_locks[gateway_id])
            if self.locks[i]["online"]
        ]
        return FakeResponse(200, {"list": near})

    def _route(self, path: str, form: dict) -> FakeResponse:
        if path == "/v3/lock/list":
            page_no, page_size = int(form.get("pageNo", 1)), int(form.get("pageSize", 20))
            # Only locks the token user is admin of.
            mine = [self._public(lock) for lock in self.locks.values() if lock["admin"]]
            return FakeResponse(200, self._page(mine, page_no, page_size))
        if path.startswith("/v3/gateway/"):
            return self._gateway_route(path, form)
        lock = self._lock_or_error(form)
        if isinstance(lock, FakeResponse):
            return lock
        if not lock["admin"]:
            return _error(-2018, "permission denied")
        lock_id = lock["lockId"]
        codes = self.codes_by_lock[lock_id]
        if path == "/v3/lock/detail":
            detail = {
                **self._public(lock),
                "timezoneRawOffset": lock["timezoneRawOffset"],
                "modelNum": "SN138",
            }
            return FakeResponse(200, detail)
        if path == "/v3/lock/listKeyboardPwd":
            page_no, page_size = int(form.get("pageNo", 1)), min(int(form.get("pageSize", 20)), 200)
            return FakeResponse(200, self._page(list(codes.values()), page_no, page_size))
        writes = {
            "/v3/keyboardPwd/add": self._add,
            "/v3/keyboardPwd/change": self._change,
            "/v3/keyboardPwd/delete": self._delete,
        }
        if path in writes and self.busy_next_writes > 0:
            self.busy_next_writes -= 1
            return _error(self.busy_errcode, "gateway busy, retry")
        if path in writes:
            if self._gateway_taken(lock_id):
                return _error(-3003, "gateway busy, retry")
            response = writes[path](lock, codes, form)
            response.delay += self.gateway_write_seconds
            return response
        return FakeResponse(404, "not found")

    def _gateway_taken(self, lock_id: int) -> bool:
        """A gateway carries one write at a time (`gateway_write_seconds` each)."""
        if not self.gateway_write_seconds:
            return False
        gateway_id = next(g for g, lock_ids in self.gateway_locks.items() if lock_id in lock_ids)
        now = time.time()
        if self.gateway_busy_until.get(gateway_id, 0.0) > now:
            return True
        self.gateway_busy_until[gateway_id] = now + self.gateway_write_seconds
        return False

    def _add(self, lock: dict, codes: dict, form: dict) -> FakeResponse:
        if form.get("addType") != "2":
            # addType 1 would only record the code in the cloud, never on the lock.
            return _error(-3, "this fake only writes through the gateway (addType=2)")
        if not lock["supports_gateway_passcodes"]:
            return _error(-4043, "the lock does not support this operation")
        problem = self._check_pin(lock, codes, str(form.get("keyboardPwd", "")))
        if problem:
            return problem
        if len(codes) >= self.capacity:
            return _error(-3009, "custom passcode storage full")
        delay = self.take_timeout()
        pwd_id = self.next_pwd_id + 1000 if self.take_drop() else self._store(lock["lockId"], form)
        return FakeResponse(200, {"keyboardPwdId": pwd_id}, delay=delay)

    def _change(self, lock: dict, codes: dict, form: dict) -> FakeResponse:
        if form.get("changeType") != "2":
            return _error(-3, "this fake only writes through the gateway (changeType=2)")
        code = codes.get(int(form.get("keyboardPwdId") or 0))
        if code is None:
            return _error(-2009, "passcode does not exist")
        new_pin = form.get("newKeyboardPwd")
        if new_pin:
            others = {k: v for k, v in codes.items() if k != code["keyboardPwdId"]}
            problem = self._check_pin(lock, others, new_pin)
            if problem:
                return problem
        delay = self.take_timeout()
        if not self.take_drop():
            if new_pin:
                code["keyboardPwd"] = str(int(new_pin))
            if form.get("keyboardPwdName"):
                code["keyboardPwdName"] = form["keyboardPwdName"]
            if form.get("startDate"):  # without startDate the period is left alone
                code["startDate"] = int(form["startDate"])
                code["endDate"] = int(form.get("endDate") or 0)
        return FakeResponse(200, {"errcode": 0, "errmsg": "none error message"}, delay=delay)

    def _delete(self, lock: dict, codes: dict, form: dict) -> FakeResponse:
        if form.get("deleteType") != "2":
            return _error(-3, "this fake only writes through the gateway (deleteType=2)")
        offline = self._offline_error(lock)
        if offline:
            return offline
        pwd_id = int(form.get("keyboardPwdId") or 0)
        if pwd_id not in codes:
            return _error(-2009, "passcode does not exist")
        delay = self.take_timeout()
        if not self.take_drop():
            codes.pop(pwd_id)
        return FakeResponse(200, {"errcode": 0, "errmsg": "none error message"}, delay=delay)

    def _check_pin(self, lock: dict, codes: dict, pin: str) -> FakeResponse | None:
        if not pin.isdigit() or not 4 <= len(pin) <= 9:
            return _error(-3006, "passcode length invalid")
        if _too_simple(pin):
            return _error(-2032, "passcode too simple")
        offline = self._offline_error(lock)
        if offline:
            return offline
        if any(c["keyboardPwd"] == str(int(pin)) for c in codes.values()):
            return _error(-3007, "same passcode already exists")
        return None

    def _offline_error(self, lock: dict) -> FakeResponse | None:
        if not lock["hasGateway"]:
            return _error(-2012, "no gateway near the lock")
        if not self._gateway_online(lock["lockId"]):
            return _error(-3002, "gateway offline")
        if not lock["online"]:
            return _error(-3036, "lock offline")
        return None

    @staticmethod
    def _page(items: list, page_no: int, page_size: int) -> dict:
        start = (page_no - 1) * page_size
        pages = max(1, -(-len(items) // page_size))
        return {
            "list": items[start : start + page_size],
            "pageNo": page_no,
            "pageSize": page_size,
            "pages": pages,
            "total": len(items),
        }
