"""The PMS registry: one line per PMS. PmsConnection.pms's choices come from here (Q1)."""

from pms.base import PmsAdapter
from pms.hospitable import HospitableAdapter
from pms.smoobu import SmoobuAdapter

ADAPTERS: dict[str, type[PmsAdapter]] = {
    HospitableAdapter.key: HospitableAdapter,
    SmoobuAdapter.key: SmoobuAdapter,
}


def adapter_for(connection) -> PmsAdapter:
    return ADAPTERS[connection.pms](connection)
