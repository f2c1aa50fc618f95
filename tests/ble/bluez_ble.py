# SPDX-License-Identifier: MIT
"""bluez_ble.py: dbusmock's bluez5 template, plus what porter's BLE tests need.

The stock template (python3-dbusmock 0.28.7) sends ManufacturerData and
ServiceData with the wrong D-Bus types from AddDevice, and has no
LEAdvertisingManager1. Added here:
  org.bluez.Mock.AddBleDevice(adapter, address, rssi, mfr a{qv}, svc a{sv},
      uuids as) -> path: InterfacesAdded with exactly these Device1 types;
  org.bluez.Mock.UpdateBleDevice(path, props a{sv}): one PropertiesChanged
      carrying `props` as given (the test picks the types, wrong ones too);
  org.bluez.Mock.AddLeAdvertising(adapter): LEAdvertisingManager1 on the
      adapter (RegisterAdvertisement / UnregisterAdvertisement, recorded).
"""
import dbus

from dbusmock import OBJECT_MANAGER_IFACE, mockobject
from dbusmock.templates.bluez5 import *  # noqa: F401,F403 (the template's names)
from dbusmock.templates import bluez5

BUS_NAME = bluez5.BUS_NAME
MAIN_OBJ = bluez5.MAIN_OBJ
SYSTEM_BUS = True
IS_OBJECT_MANAGER = True

DEVICE_IFACE = 'org.bluez.Device1'
ADV_MANAGER_IFACE = 'org.bluez.LEAdvertisingManager1'


def load(mock, parameters):
    bluez5.load(mock, parameters)
    mock.AddMethods(bluez5.BLUEZ_MOCK_IFACE, [
        ('AddBleDevice', 'ssna{qv}a{sv}as', 'o', AddBleDevice),
        ('UpdateBleDevice', 'oa{sv}', '', UpdateBleDevice),
        ('AddLeAdvertising', 's', '', AddLeAdvertising),
    ])


def AddBleDevice(self, adapter, address, rssi, mfr, svc, uuids):
    path = '/org/bluez/%s/dev_%s' % (adapter, address.replace(':', '_'))
    props = {
        'Address': dbus.String(address, variant_level=1),
        'AddressType': dbus.String('random', variant_level=1),
        'Adapter': dbus.ObjectPath('/org/bluez/' + adapter, variant_level=1),
        'Paired': dbus.Boolean(False, variant_level=1),
        'Connected': dbus.Boolean(False, variant_level=1),
        'RSSI': dbus.Int16(rssi, variant_level=1),
    }
    if mfr:
        props['ManufacturerData'] = dbus.Dictionary(
            {dbus.UInt16(k): dbus.Array(v, signature='y', variant_level=1) for k, v in mfr.items()},
            signature='qv', variant_level=1)
    if svc:
        props['ServiceData'] = dbus.Dictionary(
            {dbus.String(k): dbus.Array(v, signature='y', variant_level=1) for k, v in svc.items()},
            signature='sv', variant_level=1)
    if uuids:
        props['UUIDs'] = dbus.Array(uuids, signature='s', variant_level=1)
    self.AddObject(path, DEVICE_IFACE, props, [])
    mockobject.objects['/'].EmitSignal(OBJECT_MANAGER_IFACE, 'InterfacesAdded', 'oa{sa{sv}}',
                                       [dbus.ObjectPath(path), {DEVICE_IFACE: props}])
    return path


def UpdateBleDevice(self, path, props):
    device = mockobject.objects[path]
    device.props[DEVICE_IFACE].update(props)
    device.EmitSignal(dbus.PROPERTIES_IFACE, 'PropertiesChanged', 'sa{sv}as',
                      [DEVICE_IFACE, props, dbus.Array([], signature='s')])


def AddLeAdvertising(self, adapter):
    obj = mockobject.objects['/org/bluez/' + adapter]
    obj.AddMethods(ADV_MANAGER_IFACE, [
        ('RegisterAdvertisement', 'oa{sv}', '', ''),
        ('UnregisterAdvertisement', 'o', '', ''),
    ])
    obj.AddProperties(ADV_MANAGER_IFACE, {
        'ActiveInstances': dbus.Byte(0),
        'SupportedInstances': dbus.Byte(5),
        'SupportedIncludes': dbus.Array(['tx-power'], signature='s'),
    })
