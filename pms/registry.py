"""The PMS registry: one line per PMS. PmsConnection.pms's choices come from here (Q1)."""

from pms.base import PmsAdapter
from pms.guesty import GuestyAdapter
from pms.hospitable import HospitableAdapter
from pms.hostaway import HostawayAdapter
from pms.smoobu import SmoobuAdapter

ADAPTERS: dict[str, type[PmsAdapter]] = {
    HospitableAdapter.key: HospitableAdapter,
    HostawayAdapter.key: HostawayAdapter,
    SmoobuAdapter.key: SmoobuAdapter,
    GuestyAdapter.key: GuestyAdapter,
}


def adapter_for(connection) -> PmsAdapter:
    return ADAPTERS[connection.pms](connection)
