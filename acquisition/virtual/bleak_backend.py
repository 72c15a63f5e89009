"""A bleak backend over bumble, so product code's ``BleakScanner``/``BleakClient`` reach
virtual sensors unchanged.

bleak instantiates backend classes itself, so the virtual adapter cannot be passed to a
constructor: ``bind_backends(adapter)`` returns scanner and client subclasses that carry
their adapter as a class attribute. Pass them as ``backend=`` to ``BleakScanner`` and
``BleakClient``. Pinned to bleak 3.1 and bumble 0.0.236 (both APIs change across versions).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid as uuid_module
from collections.abc import Callable
from typing import Any, ClassVar

from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError
from bumble import core, hci
from bumble.att import ATT_Error
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt import GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR
from bumble.gatt_client import CharacteristicProxy, DescriptorProxy

from hipscope.acquisition.virtual.radio import (
    VirtualLink,
    address_key,
    new_device,
    random_static_address,
)

logger = logging.getLogger(__name__)

REQUESTED_MTU = 247
_PROPERTY_NAMES = (
    (0x01, "broadcast"),
    (0x02, "read"),
    (0x04, "write-without-response"),
    (0x08, "write"),
    (0x10, "notify"),
    (0x20, "indicate"),
    (0x40, "authenticated-signed-writes"),
    (0x80, "extended-properties"),
)


def uuid_str(value: core.UUID) -> str:
    """bumble's UUID as bleak's lower-case 128-bit string (compared via bytes, not text)."""
    return str(uuid_module.UUID(bytes=bytes(reversed(value.uuid_128_bytes))))


def advertised_service_uuids(data: core.AdvertisingData) -> list[str]:
    """Service UUIDs in advertising data, de-duplicated (scan responses repeat them)."""
    found: list[str] = []
    for ad_type, size in ((0x02, 2), (0x03, 2), (0x04, 4), (0x05, 4), (0x06, 16), (0x07, 16)):
        for raw in data.get_all(ad_type, raw=True):
            for offset in range(0, len(raw) - size + 1, size):
                text = uuid_str(core.UUID.from_bytes(bytes(raw[offset : offset + size])))
                if text not in found:
                    found.append(text)
    return found


class VirtualAdapter:
    """The host's Bluetooth adapter on the virtual radio: one bumble central device.

    Connections are serialised (one pending LE connect at a time); scanning is shared
    between scanners by reference count.
    """

    def __init__(self, link: VirtualLink, *, address_index: int = 0xFFFF) -> None:
        self.link = link
        self.address = random_static_address(address_index, prefix=0xF0)
        self.device: Device = new_device(link, "hipscope-central", self.address)
        self.connect_lock = asyncio.Lock()
        self._scanners: set[VirtualBleakScanner] = set()
        self._scan_lock = asyncio.Lock()
        self.device.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        self.known: dict[str, hci.Address] = {}

    async def power_on(self) -> None:
        await self.device.power_on()

    async def close(self) -> None:
        for connection in list(self.device.connections.values()):
            with contextlib.suppress(Exception):
                await connection.disconnect()
        if self.device.is_scanning:
            with contextlib.suppress(Exception):
                await self.device.stop_scanning()

    async def add_scanner(self, scanner: VirtualBleakScanner) -> None:
        async with self._scan_lock:
            self._scanners.add(scanner)
            if not self.device.is_scanning:
                await self.device.start_scanning(active=True, filter_duplicates=False)

    async def remove_scanner(self, scanner: VirtualBleakScanner) -> None:
        async with self._scan_lock:
            self._scanners.discard(scanner)
            if not self._scanners and self.device.is_scanning:
                await self.device.stop_scanning()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        self.known[address_key(advertisement.address)] = advertisement.address
        for scanner in list(self._scanners):
            scanner.on_advertisement(advertisement)

    def resolve(self, address: str) -> hci.Address:
        known = self.known.get(address_key(address))
        if known is not None:
            return known
        return hci.Address(address_key(address), hci.Address.RANDOM_DEVICE_ADDRESS)


class VirtualBleakScanner(BaseBleakScanner):
    """bleak scanner backend on a ``VirtualAdapter`` (bind with ``bind_backends``)."""

    adapter: ClassVar[VirtualAdapter | None] = None

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        adapter = kwargs.get("virtual_adapter") or type(self).adapter
        if adapter is None:
            raise BleakError("virtual scanner has no adapter: use bind_backends(adapter)")
        self._adapter: VirtualAdapter = adapter
        self._merged: dict[str, tuple[str | None, list[str]]] = {}

    async def start(self) -> None:
        self.seen_devices = {}
        self._merged = {}
        await self._adapter.add_scanner(self)

    async def stop(self) -> None:
        await self._adapter.remove_scanner(self)

    def on_advertisement(self, advertisement: Advertisement) -> None:
        data = advertisement.data
        name_value = data.get(core.AdvertisingData.COMPLETE_LOCAL_NAME, raw=True) or data.get(
            core.AdvertisingData.SHORTENED_LOCAL_NAME, raw=True
        )
        key = address_key(advertisement.address)
        name = bytes(name_value).decode("utf-8", "replace") if name_value else None
        # An advertising report without the scan response lacks what the response added.
        known_name, known_uuids = self._merged.get(key, (None, []))
        name = name or known_name
        service_uuids = list(dict.fromkeys([*known_uuids, *advertised_service_uuids(data)]))
        self._merged[key] = (name, service_uuids)
        if not self.is_allowed_uuid(service_uuids):
            return
        manufacturer: dict[int, bytes] = {}
        for raw in data.get_all(core.AdvertisingData.MANUFACTURER_SPECIFIC_DATA, raw=True):
            if len(raw) >= 2:
                manufacturer[int.from_bytes(raw[:2], "little")] = bytes(raw[2:])
        tx_power = advertisement.tx_power
        adv = AdvertisementData(
            local_name=name,
            manufacturer_data=manufacturer,
            service_data={},
            service_uuids=service_uuids,
            tx_power=None if tx_power == Advertisement.TX_POWER_NOT_AVAILABLE else tx_power,
            rssi=advertisement.rssi,
            platform_data=(advertisement,),
        )
        device = self.create_or_update_device(key, key, name, advertisement.address, adv)
        self.call_detection_callbacks(device, adv)


class VirtualBleakClient(BaseBleakClient):
    """bleak client backend on a ``VirtualAdapter`` (bind with ``bind_backends``)."""

    adapter: ClassVar[VirtualAdapter | None] = None

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None,
        timeout: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        adapter = kwargs.get("virtual_adapter") or type(self).adapter
        if adapter is None:
            raise BleakError("virtual client has no adapter: use bind_backends(adapter)")
        self._adapter: VirtualAdapter = adapter
        is_device = isinstance(address_or_ble_device, BLEDevice)
        details = address_or_ble_device.details if is_device else None  # type: ignore[union-attr]
        self._peer_address: hci.Address = (
            details if isinstance(details, hci.Address) else adapter.resolve(self.address)
        )
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._closing = False
        self._name = address_or_ble_device.name if is_device else None  # type: ignore[union-attr]
        self._proxies: dict[int, CharacteristicProxy[bytes]] = {}
        self._descriptor_proxies: dict[int, DescriptorProxy] = {}
        self._notify: dict[int, Callable[[bytes], None]] = {}

    @property
    def name(self) -> str:
        return self._name or self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        if self._connection is None:
            return 23
        return int(self._connection.att_mtu)

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self._connection is not None:
            return
        self._closing = False
        async with self._adapter.connect_lock:
            try:
                connection = await self._adapter.device.connect(
                    self._peer_address, transport=core.PhysicalTransport.LE, timeout=self._timeout
                )
            except (TimeoutError, core.TimeoutError) as error:
                raise BleakDeviceNotFoundError(
                    self.address, f"connect to {self.address} timed out"
                ) from error
            except core.BaseBumbleError as error:
                raise BleakError(f"connect to {self.address} failed: {error}") from error
        self._connection = connection
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        peer = Peer(connection)
        self._peer = peer
        try:
            await peer.request_mtu(REQUESTED_MTU)
            await self._discover(peer)
        except Exception as error:
            await self.disconnect()
            raise BleakError(f"GATT setup with {self.address} failed: {error}") from error

    async def _discover(self, peer: Peer) -> None:
        collection = BleakGATTServiceCollection()
        for service in await peer.discover_services():
            bleak_service = BleakGATTService(service, service.handle, uuid_str(service.uuid))
            collection.add_service(bleak_service)
            for char in await service.discover_characteristics():
                self._proxies[char.handle] = char
                props = [name for bit, name in _PROPERTY_NAMES if int(char.properties) & bit]
                bleak_char = BleakGATTCharacteristic(
                    char,
                    char.handle,
                    uuid_str(char.uuid),
                    props,  # type: ignore[arg-type]
                    lambda: self.mtu_size - 3,
                    bleak_service,
                )
                collection.add_characteristic(bleak_char)
                for descriptor in await char.discover_descriptors():
                    self._descriptor_proxies[descriptor.handle] = descriptor
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor, descriptor.handle, uuid_str(descriptor.type), bleak_char
                        )
                    )
        self.services = collection

    def _on_disconnection(self, reason: int) -> None:
        was_connected = self._connection is not None
        self._connection = None
        self._peer = None
        self._notify.clear()
        if was_connected and not self._closing and self._disconnected_callback is not None:
            logger.debug("virtual link to %s lost (reason 0x%02X)", self.address, reason)
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        self._closing = True
        if connection is None:
            return
        self._connection = None
        self._peer = None
        self._notify.clear()
        with contextlib.suppress(Exception):
            await connection.disconnect()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("virtual sensors need no pairing")

    async def unpair(self) -> None:
        raise NotImplementedError("virtual sensors need no pairing")

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError(f"{self.address} is not connected")
        return self._peer

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        try:
            value = await peer.gatt_client.read_value(characteristic.handle)
        except ATT_Error as error:
            raise BleakError(f"read of {characteristic.uuid} failed: {error}") from error
        return bytearray(value)

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        return bytearray(await peer.gatt_client.read_value(descriptor.handle))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        peer = self._require_peer()
        try:
            await peer.gatt_client.write_value(
                characteristic.handle, bytes(data), with_response=response
            )
        except ATT_Error as error:
            raise BleakError(f"write to {characteristic.uuid} failed: {error}") from error

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        peer = self._require_peer()
        await peer.gatt_client.write_value(descriptor.handle, bytes(data), with_response=True)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        peer = self._require_peer()
        proxy = self._proxies[characteristic.handle]
        if proxy.get_descriptor(GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR) is None:
            raise BleakError(f"{characteristic.uuid} has no CCCD: cannot notify")

        def on_value(value: bytes) -> None:
            callback(bytearray(value))

        self._notify[characteristic.handle] = on_value
        await peer.gatt_client.subscribe(proxy, on_value)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._require_peer()
        subscriber = self._notify.pop(characteristic.handle, None)
        await peer.gatt_client.unsubscribe(self._proxies[characteristic.handle], subscriber)


def bind_backends(
    adapter: VirtualAdapter,
) -> tuple[type[VirtualBleakScanner], type[VirtualBleakClient]]:
    """Scanner and client backend classes bound to ``adapter``, for ``backend=``."""
    scanner = type("VirtualBleakScanner", (VirtualBleakScanner,), {"adapter": adapter})
    client = type("VirtualBleakClient", (VirtualBleakClient,), {"adapter": adapter})
    return scanner, client
