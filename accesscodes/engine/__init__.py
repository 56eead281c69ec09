"""The code engine: guest PINs and backup codes delivered to locks, one module per concern.

Writing rows (services; never talk to a vendor):
- `provisioning`: ensure / retire / cancel / replace the codes a stay should have.
- `actions`: what users ask for (retry now): mark due, enqueue a pass on commit, return.
- `reconciliation`: resync (Y1), the daily reconciliation (Y2), reconnecting (L3, Y3).
- `announcements`: when a guest is told a new PIN (P6, G7).
- `backups` (pool and hand-out functions): backup code pools and assigning them (H2–H5).

Choosing and timing:
- `windows`: when a code works, when it is sent and when it leaves the lock (W, S2, D1).
- `choices`: PINs (P rules) and names on the lock (N rules).
- `listings`: what each lock listed at its last read (P7, N2, H5).
- `retry`: the one retry schedule (R1, R5).

Talking to a lock (one pass per lock at a time):
- `lease`: the lock's lease, renewed before every vendor call (S5).
- `sweeps`: what is due now, and a pass for each lock that has it (S3, S4).
- `lock_pass`: the pass, one handler per code state, with its mixins `confirmation` (setting),
  `capacity` (removal and full locks), `failures` (R1–R5 reactions) and `backups`.
- `delivery`: what LockCode and BackupCode share: the guarded write-back (S9), failing.
- `events`: the append-only history.

The read model "what code does this guest use on each lock" is
`accesscodes.selectors.guest_lock_codes`. Other apps import from `accesscodes.services`.
"""
