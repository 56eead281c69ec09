"""The vendor registry: one line per vendor. LockConnection.vendor's choices come from here."""

from integrations.base import Adapter
from integrations.homeassistant import HomeAssistantAdapter
from integrations.igloohome import IgloohomeAdapter
from integrations.nuki import NukiAdapter
from integrations.remotelock import RemoteLockAdapter
from integrations.seam import SeamAdapter
from integrations.simulator import SimulatorAdapter
from integrations.ttlock import TTLockAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    SimulatorAdapter.key: SimulatorAdapter,
    NukiAdapter.key: NukiAdapter,
    SeamAdapter.key: SeamAdapter,
    TTLockAdapter.key: TTLockAdapter,
    RemoteLockAdapter.key: RemoteLockAdapter,
    IgloohomeAdapter.key: IgloohomeAdapter,
    HomeAssistantAdapter.key: HomeAssistantAdapter,
}


def adapter_for(connection) -> Adapter:
    """Return the adapter for a LockConnection."""
    return ADAPTERS[connection.vendor](connection)
