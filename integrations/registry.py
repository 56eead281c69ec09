"""The vendor registry: one line per vendor. LockConnection.vendor's choices come from here."""

from integrations.base import Adapter
from integrations.simulator import SimulatorAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    SimulatorAdapter.key: SimulatorAdapter,
}


def adapter_for(connection) -> Adapter:
    """Return the adapter for a LockConnection."""
    return ADAPTERS[connection.vendor](connection)
