"""The code engine: guest PINs and backup codes delivered to locks, one module per concern.

- `events`: the append-only history (CodeEvent rows).
- `windows`: when a code works, when it is sent and when it leaves the lock (W, S2, D1).
- `choices`: PINs (P rules) and names on the lock (N rules).
- `retry`: the one retry schedule (R1, R5).
- `provisioning`: ensure / retire / cancel / replace — the services that only write rows.
- `lease`: one pass per lock at a time, renewed on every vendor call (S5).
- `delivery`: what LockCode and BackupCode share: the guarded write-back (S9), failing.
- `lock_pass`: the pass over one lock, one handler per code state.
- `backups`: backup code pools, their handlers in the pass, and assigning them (H2–H5).
- `sweeps`: what is due now, and running passes for it (S3, S4, D1).
- `reconciliation`: resync (Y1), daily reconciliation (Y2), reconnect (L3, Y3).
- `actions`: what users ask for (retry now, resync): mark due, enqueue on commit, return.
- `read_model`: what code a guest uses on each lock (G3, H4, P6).

Services that only change rows never talk to a vendor; `sweeps.lock_process` does, under the
lock's lease. Everything is safe to run twice.
"""
