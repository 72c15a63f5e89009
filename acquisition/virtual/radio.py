"""The virtual radio: bumble controllers joined by an in-process link that can misbehave.

bumble's ``LocalLink`` delivers every PDU at once and never loses a connection. Real
BLE delivers notifications in bursts once per connection event, loses some, and drops
links when a sensor walks out of range. ``VirtualLink`` adds those three behaviours:

- ``connection_interval_s``: PDUs towards each controller are held and delivered together
  at the next connection event (0 delivers at once);
- ``loss_fraction``: that fraction of ATT notifications is dropped (seeded), and what was
  dropped is kept in ``dropped_values`` so a test can count exactly what went missing;
- ``cut(address)``: radio loss — both sides see a disconnection with reason 0x08
  (connection timeout) and the address stays silent until ``restore(address)``.

Everything here binds the running asyncio loop when created: build it inside the loop.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable

import numpy as np
from bumble import core, hci
from bumble.controller import Controller
from bumble.device import Device, DeviceConfiguration
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from hipscope.base.errors import HipscopeError

CONNECTION_TIMEOUT_REASON = 0x08
ATT_CID = 0x0004
ATT_HANDLE_VALUE_NOTIFICATION = 0x1B
# 4-byte L2CAP header + 247-byte ATT MTU: a full notification in one ACL packet.
LE_ACL_DATA_PACKET_LENGTH = 251


def random_static_address(index: int, prefix: int = 0xC0) -> hci.Address:
    """A random static address (two top bits set); public addresses lose ATT traffic."""
    if not 0 <= index < 0x10000:
        raise HipscopeError(f"address index {index} outside 0..65535")
    octets = [prefix | 0xC0, 0x1D, 0x5C, 0x0E, (index >> 8) & 0xFF, index & 0xFF]
    return hci.Address(":".join(f"{o:02X}" for o in octets), hci.Address.RANDOM_DEVICE_ADDRESS)


def address_key(address: hci.Address | str) -> str:
    """Addresses compared as upper-case strings without the type suffix bumble adds."""
    return str(address).split("/")[0].upper()


def _notification_value(pdu: bytes) -> bytes | None:
    """The value of an ATT notification carried in an L2CAP PDU, or None for anything else."""
    if len(pdu) < 7:
        return None
    cid = int.from_bytes(pdu[2:4], "little")
    if cid != ATT_CID or pdu[4] != ATT_HANDLE_VALUE_NOTIFICATION:
        return None
    return pdu[7:]


class VirtualLink(LocalLink):
    """A ``LocalLink`` with connection-event batching, seeded notification loss and cuts.

    Parameters
    ----------
    connection_interval_s:
        Hold PDUs and deliver them together at the next connection event, in seconds
        (default 0.0075, the shortest BLE interval; 0 delivers at once).
    loss_fraction:
        Fraction of ATT notifications dropped, 0..1 (default 0).
    seed:
        Seed of the loss generator (default 0).
    """

    def __init__(
        self, *, connection_interval_s: float = 0.0075, loss_fraction: float = 0.0, seed: int = 0
    ) -> None:
        super().__init__()
        if not 0.0 <= loss_fraction < 1.0:
            raise HipscopeError(f"loss_fraction must be in [0, 1), got {loss_fraction}")
        if connection_interval_s < 0.0:
            raise HipscopeError(f"connection_interval_s must be >= 0, got {connection_interval_s}")
        self.connection_interval_s = connection_interval_s
        self.loss_fraction = loss_fraction
        self._rng = np.random.default_rng(seed)
        self.dropped_values: dict[str, list[bytes]] = defaultdict(list)
        self.delivered_notifications: dict[str, int] = defaultdict(int)
        self._corrupt: dict[str, list[Callable[[bytes], bytes]]] = defaultdict(list)
        self.corrupted_values: dict[str, list[bytes]] = defaultdict(list)
        self._silenced: set[str] = set()
        self._pending: dict[Controller, list[tuple[hci.Address, core.PhysicalTransport, bytes]]]
        self._pending = {}

    # -- misbehaviour controls ------------------------------------------------------------
    def corrupt_next(self, address: hci.Address | str, mangle: Callable[[bytes], bytes]) -> None:
        """Replace the value of the next notification sent by ``address`` with ``mangle(value)``."""
        self._corrupt[address_key(address)].append(mangle)

    def cut(self, address: hci.Address | str, reason: int = CONNECTION_TIMEOUT_REASON) -> int:
        """Radio loss: disconnect every connection of ``address`` on both sides and keep it
        silent (no advertising, no data) until ``restore``. Returns the links cut."""
        key = address_key(address)
        self._silenced.add(key)
        cut = 0
        for controller in list(self.controllers):
            for connection in list(controller.le_connections.values()):
                ends = {address_key(connection.self_address), address_key(connection.peer_address)}
                if key in ends:
                    controller.on_le_disconnected(connection, reason)
                    cut += 1
        for controller, queue in self._pending.items():
            self._pending[controller] = [p for p in queue if address_key(p[0]) != key]
        return (cut + 1) // 2

    def restore(self, address: hci.Address | str) -> None:
        """End a cut: the device advertises and can be reconnected again."""
        self._silenced.discard(address_key(address))

    def is_silenced(self, address: hci.Address | str) -> bool:
        return address_key(address) in self._silenced

    # -- LocalLink overrides --------------------------------------------------------------
    def send_advertising_pdu(self, sender_controller: Controller, packet: object) -> None:
        if address_key(sender_controller.random_address) in self._silenced:
            return
        super().send_advertising_pdu(sender_controller, packet)  # type: ignore[arg-type]

    def send_acl_data(
        self,
        sender_controller: Controller,
        destination_address: hci.Address,
        transport: core.PhysicalTransport,
        data: bytes,
    ) -> None:
        if transport != core.PhysicalTransport.LE:
            super().send_acl_data(sender_controller, destination_address, transport, data)
            return
        source = sender_controller.random_address
        source_key = address_key(source)
        if source_key in self._silenced or address_key(destination_address) in self._silenced:
            return
        value = _notification_value(data)
        if value is not None:
            if self.loss_fraction > 0.0 and self._rng.random() < self.loss_fraction:
                self.dropped_values[source_key].append(bytes(value))
                return
            if self._corrupt[source_key]:
                mangled = self._corrupt[source_key].pop(0)(bytes(value))
                self.corrupted_values[source_key].append(mangled)
                data = _rewrite_notification(data, mangled)
            self.delivered_notifications[source_key] += 1
        destination = self.find_le_controller(destination_address)
        if destination is None:
            return
        if self.connection_interval_s <= 0.0:
            asyncio.get_running_loop().call_soon(
                destination.on_link_acl_data, source, transport, data
            )
            return
        queue = self._pending.setdefault(destination, [])
        if not queue:
            loop = asyncio.get_running_loop()
            interval = self.connection_interval_s
            next_event = (int(loop.time() / interval) + 1) * interval
            loop.call_at(next_event, self._deliver, destination)
        queue.append((source, transport, data))

    def _deliver(self, destination: Controller) -> None:
        queue = self._pending.pop(destination, [])
        for source, transport, data in queue:
            if address_key(source) in self._silenced:
                continue
            destination.on_link_acl_data(source, transport, data)


def _rewrite_notification(pdu: bytes, value: bytes) -> bytes:
    att = pdu[4:7] + value
    return len(att).to_bytes(2, "little") + pdu[2:4] + att


class VirtualController(Controller):
    """bumble's controller plus a working LE Create Connection Cancel.

    bumble 0.0.236 acknowledges the cancel but never ends the pending connection, so a
    connect that timed out (device out of range) hangs the host forever. The spec answer is
    an LE Connection Complete event with status Unknown Connection Identifier (0x02).
    """

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        failure = hci.HCI_LE_Connection_Complete_Event(
            status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
            connection_handle=0,
            role=hci.Role.CENTRAL,
            peer_address_type=pending.peer_address_type,
            peer_address=pending.peer_address,
            connection_interval=0,
            peripheral_latency=0,
            supervision_timeout=0,
            central_clock_accuracy=0,
        )
        asyncio.get_running_loop().call_soon(self.send_hci_packet, failure)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)


def new_device(link: LocalLink, name: str, address: hci.Address) -> Device:
    """A bumble device on its own virtual controller attached to ``link`` (not powered on)."""
    controller = VirtualController(name, link=link)
    controller.le_acl_data_packet_length = LE_ACL_DATA_PACKET_LENGTH
    controller.supported_max_tx_octets = LE_ACL_DATA_PACKET_LENGTH
    controller.supported_max_rx_octets = LE_ACL_DATA_PACKET_LENGTH
    config = DeviceConfiguration(name=name, address=address)
    host = Host(controller, AsyncPipeSink(controller))
    return Device(name=name, address=address, config=config, host=host)
