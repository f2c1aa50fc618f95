#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test_ble_reader.py: porter's BLE driver (drivers/ble) with the real libdbus
against python3-dbusmock's BlueZ (tests/ble/bluez_ble.py) and systemd-timedated
on a private system bus.

The driver runs in ble_client (tests/ble/ble_client.c) on the reference host
loop with a recording callback; the test sequences on its line-buffered
output, never on sleeps alone. $BLECLIENT names the client; with
$PORTER_BLE_VALGRIND set it runs under valgrind memcheck.
"""
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import dbus
import dbusmock

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = os.path.join(HERE, 'bluez_ble.py')
CLIENT = os.environ.get('BLECLIENT', '')
# Under valgrind the client runs many times slower: every wait is longer.
SLOW = 15 if os.environ.get('PORTER_BLE_VALGRIND') else 1
ADAPTER = '/org/bluez/hci0'
MOCK = 'org.bluez.Mock'
UUID_FEAA = '0000feaa-0000-1000-8000-00805f9b34fb'
UUID_FD6F = '0000fd6f-0000-1000-8000-00805f9b34fb'


def ay(data):
    return dbus.Array(data, signature='y', variant_level=1)


class Client:
    """ble_client and its output, line by line."""

    def __init__(self, args, env=None):
        cmd = [CLIENT] + args
        if os.environ.get('PORTER_BLE_VALGRIND'):
            cmd = ['valgrind', '--error-exitcode=9', '--leak-check=full', '--quiet',
                   '--errors-for-leak-kinds=definite,indirect'] + cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1, env=env)
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip('\n'))
        self.lines.put(None)

    def expect(self, pattern, timeout=10):
        """The first line from now on matching `pattern` (a regex)."""
        deadline = time.monotonic() + timeout * SLOW
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(left, 0.01))
            except queue.Empty:
                line = ''
            if line is None or left <= 0:
                raise AssertionError('no line matching %r; last lines:\n%s' %
                                     (pattern, '\n'.join(self.seen[-25:])))
            self.seen.append(line)
            m = re.search(pattern, line)
            if m:
                return m

    def send(self, command):
        self.proc.stdin.write(command + '\n')
        self.proc.stdin.flush()

    def diagnostics(self):
        """{code: (path, message)} as ble_reader_diagnostics() reports now."""
        self.send('diag')
        out = {}
        while True:
            m = self.expect(r'^(DIAG-END|DIAG) ?(.*)$')
            if m.group(1) == 'DIAG-END':
                return out
            code, path, message, _fix = m.group(2).split('|', 3)
            out[code] = (path, message)

    def count(self):
        self.send('count')
        return int(self.expect(r'^COUNT (\d+)').group(1))

    def close(self):
        """Quit (so valgrind reports leaks), or kill a client that hangs."""
        if self.proc.poll() is None:
            try:
                self.send('quit')
                self.proc.wait(timeout=5 * SLOW)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
        rc = self.proc.wait()
        if rc == 9:
            raise AssertionError('valgrind found errors in ble_client (its stderr says which)')
        self.proc.stdin.close()
        self.proc.stdout.close()


class BleReaderTest(dbusmock.DBusTestCase):
    @classmethod
    def setUpClass(cls):
        cls.start_system_bus()
        cls.bus = cls.get_dbus(system_bus=True)
        cls.start_clock(True)  # one for the class: a mock takes a second to start

    @classmethod
    def tearDownClass(cls):
        cls.stop_clock()
        super().tearDownClass()

    @classmethod
    def start_clock(cls, synchronised):
        cls.clock = cls.spawn_server_template('timedated', {'NTP': synchronised},
                                              stdout=subprocess.DEVNULL)[0]

    @classmethod
    def stop_clock(cls):
        cls.clock.terminate()
        cls.clock.wait()

    def setUp(self):
        self.procs = []
        self.client = None
        self.start_bluez()

    def tearDown(self):
        if self.client:
            self.client.close()
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                p.wait()

    # ---- fixtures ----
    def start_bluez(self):
        self.bluez, obj = self.spawn_server_template(TEMPLATE, {}, stdout=subprocess.DEVNULL)
        self.procs.append(self.bluez)
        self.mock = dbus.Interface(obj, MOCK)

    def kill_bluez(self):
        self.bluez.terminate()
        self.bluez.wait()

    def adapter_calls(self, method):
        obj = self.bus.get_object('org.bluez', ADAPTER)
        return dbus.Interface(obj, dbusmock.MOCK_IFACE).GetMethodCalls(method)

    def set_adapter(self, name, value):
        obj = self.bus.get_object('org.bluez', ADAPTER)
        obj.Set('org.bluez.Adapter1', name, value, dbus_interface=dbus.PROPERTIES_IFACE)

    def start_client(self, *args, env=None):
        self.client = Client(list(args), env)
        self.client.expect('^READY$')
        return self.client

    def discovering(self, *args):
        self.mock.AddAdapter('hci0', 'door')
        c = self.start_client(*args)
        c.expect(r'BLE: discovering on /org/bluez/hci0')
        return c

    def add_phone(self, address='C0:FF:EE:00:00:01', rssi=-42):
        return self.mock.AddBleDevice('hci0', address, dbus.Int16(rssi),
                                      {dbus.UInt16(0x004c): ay([0x02, 0x15, 0xaa])},
                                      {UUID_FEAA: ay([0x10, 0x00])},
                                      ['0000FD6F-0000-1000-8000-00805F9B34FB'],
                                      signature='ssna{qv}a{sv}as')

    # ---- set-up ----
    def test_adapter_found_filter_set_discovery_started(self):
        self.discovering('--floor', '-75')
        calls = self.adapter_calls('SetDiscoveryFilter')
        self.assertEqual(len(calls), 1)
        self.assertEqual(dict(calls[0][1][0]),
                         {'Transport': 'le', 'DuplicateData': True, 'RSSI': -75})
        self.assertEqual(len(self.adapter_calls('StartDiscovery')), 1)
        self.assertEqual(self.client.diagnostics(), {})

    def test_configured_adapter_is_used(self):
        self.mock.AddAdapter('hci0', 'door')
        self.mock.AddAdapter('hci1', 'other')
        c = self.start_client('--adapter', 'hci1')
        c.expect(r'BLE: discovering on /org/bluez/hci1')
        self.assertEqual(len(self.adapter_calls('StartDiscovery')), 0)

    # ---- adverts ----
    def test_device_appears_and_changes_as_events(self):
        c = self.discovering()
        path = self.add_phone()
        m = c.expect('^EVENT ')
        self.assertEqual(m.string,
                         'EVENT reader=ble-test addr=C0:FF:EE:00:00:01 rssi=-42 company=004c '
                         'mfr=0215aa svc_uuid=%s svc=1000 uuids=%s tx=none' % (UUID_FEAA, UUID_FD6F))
        self.mock.UpdateBleDevice(path, {'RSSI': dbus.Int16(-60, variant_level=1)})
        self.assertIn('rssi=-60 company=004c mfr=0215aa', c.expect('^EVENT ').string)
        self.mock.UpdateBleDevice(path, {
            'RSSI': dbus.Int16(-70, variant_level=1),
            'TxPower': dbus.Int16(4, variant_level=1),
            'ManufacturerData': dbus.Dictionary({dbus.UInt16(0xffff): ay([1, 2, 3])},
                                                signature='qv', variant_level=1)})
        line = c.expect('^EVENT ').string
        self.assertIn('rssi=-70 company=ffff mfr=010203', line)
        self.assertTrue(line.endswith('tx=4'))
        self.assertEqual(c.count(), 3)  # one event per update, no more

    def test_weaker_than_the_floor_is_no_event(self):
        c = self.discovering('--floor', '-80')
        path = self.add_phone(rssi=-85)
        self.mock.UpdateBleDevice(path, {'RSSI': dbus.Int16(-81, variant_level=1)})
        self.mock.UpdateBleDevice(path, {'RSSI': dbus.Int16(-80, variant_level=1)})
        self.assertIn('rssi=-80', c.expect('^EVENT ').string)
        self.assertEqual(c.count(), 1)

    def test_removed_device_is_forgotten(self):
        c = self.discovering('--max-devices', '1')
        path = self.add_phone()
        c.expect('^EVENT ')
        self.bus.get_object('org.bluez', ADAPTER).RemoveDevice(
            path, dbus_interface='org.bluez.Adapter1')
        # At the cap of one, a second phone is tracked only once the first went.
        self.add_phone('C0:FF:EE:00:00:02')
        self.assertIn('addr=C0:FF:EE:00:00:02', c.expect('^EVENT ').string)

    def test_device_cap_ignores_more_with_a_log_line(self):
        c = self.discovering('--max-devices', '2')
        for i in range(3):
            self.add_phone('C0:FF:EE:00:00:0%d' % i)
        c.expect(r'LOG warning BLE: 2 devices in range, the most tracked')
        self.assertEqual(c.count(), 2)

    def test_wrong_types_and_oversized_arrays_are_ignored_with_a_log_line(self):
        c = self.discovering()
        path = self.add_phone()
        c.expect('^EVENT ')
        bad = [
            ({'RSSI': dbus.Int32(-50, variant_level=1)}, 'RSSI ignored: wrong D-Bus type'),
            ({'ManufacturerData': dbus.Array([dbus.Dictionary({dbus.UInt16(76): ay([1])},
                                                              signature='qv')],
                                             signature='a{qv}', variant_level=1)},
             r'ManufacturerData ignored: wrong D-Bus type \(expected a\{qv\}\)'),
            ({'ServiceData': dbus.Dictionary({UUID_FEAA: ay(list(range(256)) + [0] * 44)},
                                             signature='sv', variant_level=1)},
             'ServiceData ignored: over 255 bytes'),
            ({'UUIDs': dbus.Array([UUID_FD6F] * 17, signature='s', variant_level=1)},
             'UUIDs ignored: more than 16 entries'),
            ({'TxPower': dbus.String('4', variant_level=1)}, 'TxPower ignored: wrong D-Bus type'),
        ]
        for props, log in bad:
            self.mock.UpdateBleDevice(path, props)
            c.expect(r'^LOG notice BLE: device C0:FF:EE:00:00:01: ' + log)
        self.assertEqual(c.count(), 1)  # none of them was an event
        # The values before stay; the next good advert is an event.
        self.mock.UpdateBleDevice(path, {'RSSI': dbus.Int16(-44, variant_level=1)})
        self.assertIn('rssi=-44 company=004c mfr=0215aa svc_uuid=%s svc=1000' % UUID_FEAA,
                      c.expect('^EVENT ').string)

    # ---- staying up ----
    def test_discovery_restarted_when_adverts_stop(self):
        restart_ms = 400 * SLOW  # under valgrind the set-up alone takes longer than 400 ms
        c = self.discovering('--restart-ms', str(restart_ms))
        path = self.add_phone()
        c.expect('^EVENT ')
        self.mock.UpdateBleDevice(path, {'RSSI': dbus.Int16(-50, variant_level=1)})
        c.expect('^EVENT ')
        c.expect(r'LOG notice BLE: no advert for %d ms on /org/bluez/hci0: discovery restarted' %
                 restart_ms)
        deadline = time.monotonic() + 5 * SLOW
        while len(self.adapter_calls('StartDiscovery')) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(self.adapter_calls('StopDiscovery')), 1)
        self.assertEqual(len(self.adapter_calls('StartDiscovery')), 2)
        # And adverts still arrive after it.
        self.mock.UpdateBleDevice(path, {'RSSI': dbus.Int16(-52, variant_level=1)})
        self.assertIn('rssi=-52', c.expect('^EVENT ').string)

    def test_bluetoothd_disappears_and_returns(self):
        c = self.discovering()
        self.add_phone()
        c.expect('^EVENT ')
        self.kill_bluez()
        c.expect(r'LOG warning BLE \[PORTER-D022\]: bluetoothd stopped')
        self.assertIn('PORTER-D022', c.diagnostics())
        self.start_bluez()
        c.expect(r'BLE: bluetoothd started; setting up again')
        self.mock.AddAdapter('hci0', 'door')
        c.expect(r'BLE: discovering on /org/bluez/hci0')
        self.assertEqual(c.diagnostics(), {})
        self.add_phone('C0:FF:EE:00:00:02', rssi=-40)
        self.assertIn('addr=C0:FF:EE:00:00:02 rssi=-40', c.expect('^EVENT ').string)

    def test_adapter_disappears_and_returns(self):
        c = self.discovering()
        self.mock.RemoveAdapter('hci0')
        c.expect(r'BLE \[PORTER-D020\]: Bluetooth adapter hci0 went away')
        self.mock.AddAdapter('hci0', 'door')
        c.expect(r'BLE: discovering on /org/bluez/hci0')
        self.add_phone()
        c.expect('^EVENT ')

    def test_adapter_powered_off_and_on(self):
        c = self.discovering()
        self.set_adapter('Powered', dbus.Boolean(False, variant_level=1))
        c.expect(r'BLE \[PORTER-D020\]: Bluetooth adapter hci0 was powered off')
        self.set_adapter('Powered', dbus.Boolean(True, variant_level=1))
        c.expect(r'BLE: discovering on /org/bluez/hci0')

    def test_shutdown_mid_run_returns_and_nothing_runs_after(self):
        c = self.discovering()
        path = self.add_phone()
        c.expect('^EVENT ')
        stop = threading.Event()

        def stream():
            bus = dbus.bus.BusConnection(os.environ['DBUS_SYSTEM_BUS_ADDRESS'])
            mock = dbus.Interface(bus.get_object('org.bluez', '/'), MOCK)
            rssi = -40
            while not stop.is_set():
                mock.UpdateBleDevice(path, {'RSSI': dbus.Int16(rssi, variant_level=1)})
                rssi = -40 if rssi < -60 else rssi - 1
        t = threading.Thread(target=stream)
        t.start()
        try:
            c.expect('^EVENT ')
            c.send('stop')
            m = c.expect(r'^STOPPED before_watches=(\d+) watches=(\d+) timers=(\d+)')
            self.assertGreaterEqual(int(m.group(1)), 2)  # stdin and the bus socket
            self.assertEqual((m.group(2), m.group(3)), ('1', '0'))  # stdin alone
            self.assertEqual(c.expect(r'^END events_after_stop=(\d+)').group(1), '0')
        finally:
            stop.set()
            t.join()
        self.assertEqual(c.proc.wait(timeout=20 * SLOW), 0)
        # StopDiscovery went out, best effort, without waiting for its answer.
        deadline = time.monotonic() + 3 * SLOW
        while not self.adapter_calls('StopDiscovery') and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(self.adapter_calls('StopDiscovery')), 1)

    # ---- diagnostics ----
    def test_no_adapter(self):
        c = self.start_client()
        c.expect(r'BLE \[PORTER-D020\]: there is no Bluetooth adapter')
        self.assertEqual(c.diagnostics()['PORTER-D020'],
                         ('$.ble_reader.adapter', 'there is no Bluetooth adapter'))

    def test_configured_adapter_missing(self):
        self.mock.AddAdapter('hci0', 'door')
        c = self.start_client('--adapter', 'hci7')
        c.expect(r'BLE \[PORTER-D020\]: Bluetooth adapter hci7 is not there \(1 other\)')

    def test_no_powered_adapter(self):
        self.mock.AddAdapter('hci0', 'door')
        self.set_adapter('Powered', dbus.Boolean(False, variant_level=1))
        c = self.start_client()
        c.expect(r'BLE \[PORTER-D020\]: none of the 1 Bluetooth adapters is powered on')
        self.set_adapter('Powered', dbus.Boolean(True, variant_level=1))
        c.expect(r'BLE: discovering on /org/bluez/hci0')
        self.assertEqual(c.diagnostics(), {})

    def test_adapter_without_le(self):
        self.mock.AddAdapter('hci0', 'door')
        # BlueZ 5.56+ lists an adapter's LE roles; one without LE lists none.
        dbus.Interface(self.bus.get_object('org.bluez', ADAPTER), dbusmock.MOCK_IFACE).AddProperty(
            'org.bluez.Adapter1', 'Roles', dbus.Array([], signature='s'))
        c = self.start_client()
        c.expect(r'BLE \[PORTER-D021\]: Bluetooth adapter hci0 does not support Bluetooth '
                 'Low Energy')
        self.assertIn('PORTER-D021', c.diagnostics())
        self.assertEqual(len(self.adapter_calls('StartDiscovery')), 0)

    def test_bluetoothd_not_running(self):
        self.kill_bluez()
        c = self.start_client()
        c.expect(r'BLE \[PORTER-D022\]: bluetoothd is not running')
        self.start_bluez()
        self.mock.AddAdapter('hci0', 'door')
        c.expect(r'BLE: discovering on /org/bluez/hci0')

    def test_system_bus_missing(self):
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS='unix:path=/nonexistent/porter-test-bus')
        c = self.start_client(env=env)  # the first attempt is made during start
        self.assertTrue(any(re.search(r'BLE \[PORTER-D023\]: the D-Bus system bus at '
                                      'unix:path=/nonexistent/porter-test-bus is not reachable',
                                      line) for line in c.seen), c.seen)
        self.assertIn('PORTER-D023', c.diagnostics())

    def test_clock_not_synchronised(self):
        self.stop_clock()
        self.start_clock(False)
        try:
            self.mock.AddAdapter('hci0', 'door')
            c = self.start_client()
            c.expect(r'BLE \[PORTER-D024\]: the system clock is not synchronised')
            self.assertIn('PORTER-D024', c.diagnostics())
        finally:
            self.stop_clock()
            self.start_clock(True)


class AdvertiserTest(dbusmock.DBusTestCase):
    """examples/porter-advertise registers an LE advertisement through
    BlueZ's LEAdvertisingManager1 that carries the payload it was given."""

    @classmethod
    def setUpClass(cls):
        cls.start_system_bus()
        cls.bus = cls.get_dbus(system_bus=True)

    def setUp(self):
        if not os.environ.get('PORTER_ADVERTISE'):
            self.skipTest('PORTER_ADVERTISE is not set')
        self.bluez, obj = self.spawn_server_template(TEMPLATE, {}, stdout=subprocess.DEVNULL)
        self.mock = dbus.Interface(obj, MOCK)
        self.mock.AddAdapter('hci0', 'door')
        self.mock.AddLeAdvertising('hci0')

    def tearDown(self):
        self.bluez.terminate()
        self.bluez.wait()

    def calls(self, method):
        obj = self.bus.get_object('org.bluez', ADAPTER)
        return dbus.Interface(obj, dbusmock.MOCK_IFACE).GetMethodCalls(method)

    def test_registers_an_advertisement_with_the_payload(self):
        adv = subprocess.Popen([os.environ['PORTER_ADVERTISE'], '--adapter', 'hci0',
                                '--company', '0xffff', '--data', '01a1b2c3d4e5f60708'],
                               stdout=subprocess.PIPE, text=True)
        try:
            name, path = adv.stdout.readline().split()[1:3]
            calls = self.calls('RegisterAdvertisement')
            self.assertEqual(len(calls), 1)
            self.assertEqual(str(calls[0][1][0]), path)
            # What bluetoothd reads back from the advertiser's object.
            props = self.bus.get_object(name, path).GetAll(
                'org.bluez.LEAdvertisement1', dbus_interface=dbus.PROPERTIES_IFACE)
            self.assertEqual(str(props['Type']), 'peripheral')
            self.assertEqual({int(k): bytes(v) for k, v in props['ManufacturerData'].items()},
                             {0xffff: bytes.fromhex('01a1b2c3d4e5f60708')})
            adv.send_signal(signal.SIGTERM)
            self.assertEqual(adv.stdout.readline().strip(), 'UNREGISTERED')
            self.assertEqual(adv.wait(timeout=10), 0)
            self.assertEqual(len(self.calls('UnregisterAdvertisement')), 1)
        finally:
            if adv.poll() is None:
                adv.kill()
            adv.wait()
            adv.stdout.close()

    def test_without_le_advertising_it_says_why(self):
        self.mock.RemoveAdapter('hci0')
        self.mock.AddAdapter('hci0', 'door')  # without LEAdvertisingManager1
        adv = subprocess.run([os.environ['PORTER_ADVERTISE'], '--data', '01'],
                             capture_output=True, text=True, timeout=20)
        self.assertEqual(adv.returncode, 1)
        self.assertIn('RegisterAdvertisement failed', adv.stderr)


class BusRestartTest(unittest.TestCase):
    """The system bus itself goes away and comes back at the same address:
    the driver says so (PORTER-D023), connects again and discovers again."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='porter-ble-bus-')
        self.address = 'unix:path=%s/system_bus_socket' % self.tmp
        self.procs = []
        self.client = None

    def tearDown(self):
        if self.client:
            self.client.close()
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                p.wait()
            if p.stdout:
                p.stdout.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start_bus_and_bluez(self):
        sock = self.address.split('=', 1)[1]
        if os.path.exists(sock):
            os.unlink(sock)
        daemon = subprocess.Popen(['dbus-daemon', '--session', '--nofork', '--print-address=1',
                                   '--address=' + self.address], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
        self.procs.append(daemon)
        daemon.stdout.readline()
        bluez = subprocess.Popen(['/usr/bin/python3', '-m', 'dbusmock', '--system', '--template',
                                  TEMPLATE], stdout=subprocess.DEVNULL,
                                 env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address))
        self.procs.append(bluez)
        bus = dbus.bus.BusConnection(self.address)
        deadline = time.monotonic() + 10
        while not bus.name_has_owner('org.bluez'):
            self.assertLess(time.monotonic(), deadline, 'the mock BlueZ did not start')
            time.sleep(0.05)
        dbus.Interface(bus.get_object('org.bluez', '/'), MOCK).AddAdapter('hci0', 'door')
        bus.close()
        return daemon, bluez

    def test_system_bus_goes_away_and_returns(self):
        daemon, bluez = self.start_bus_and_bluez()
        self.client = c = Client([], dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address))
        c.expect('^READY$')
        c.expect(r'BLE: discovering on /org/bluez/hci0')
        for p in (bluez, daemon):
            p.terminate()
            p.wait()
        c.expect(r'BLE \[PORTER-D023\]: the D-Bus system bus at %s went away' %
                 re.escape(self.address))
        self.assertIn('PORTER-D023', c.diagnostics())
        self.start_bus_and_bluez()
        c.expect(r'BLE \[PORTER-D023\]: resolved')
        c.expect(r'BLE: discovering on /org/bluez/hci0')
        self.assertEqual(c.diagnostics(), {})


class PorterSoTest(dbusmock.DBusTestCase):
    """porter.so with ble_reader enabled, run by the reference host
    (porter-host, dlopen): the config starts the reader, a reload stops it,
    shutdown ends it."""

    @classmethod
    def setUpClass(cls):
        cls.start_system_bus()
        cls.bus = cls.get_dbus(system_bus=True)

    def setUp(self):
        if not os.environ.get('PORTER_HOST'):
            self.skipTest('PORTER_HOST is not set')
        self.tmp = tempfile.mkdtemp(prefix='porter-ble-')
        admin = os.environ['PORTER_ADMIN']
        key = os.path.join(self.tmp, 'pin.key')
        directory = os.path.join(self.tmp, 'directory.json')
        subprocess.run([admin, 'keygen', key], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([admin, 'add', '--directory', directory, '--key', key, '--id', 'm-ana',
                        '--kind', 'member', '--name', 'Ana'], input='1234\n', text=True,
                       check=True, stdout=subprocess.DEVNULL)
        self.config = os.path.join(self.tmp, 'config.json')
        self.site = {'local': {'directory': directory, 'pin_key_file': key,
                               'database': os.path.join(self.tmp, 'presence.db')}}
        self.bluez, obj = self.spawn_server_template(TEMPLATE, {}, stdout=subprocess.DEVNULL)
        self.mock = dbus.Interface(obj, MOCK)
        self.host = None

    def tearDown(self):
        if self.host and self.host.poll() is None:
            self.host.kill()
            self.host.wait()
        if self.host:
            self.host.stdin.close()
            self.host.stderr.close()
        self.bluez.terminate()
        self.bluez.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write_config(self, ble_reader):
        with open(self.config, 'w') as f:
            json.dump(dict(self.site, ble_reader=ble_reader), f)

    def start_host(self):
        self.host = subprocess.Popen(
            [os.environ['PORTER_HOST'], '--plugin', os.environ['PORTER_SO'], '--config',
             self.config, '--reader', 'front'],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            bufsize=1)
        self.log = Client.__new__(Client)
        self.log.proc, self.log.lines, self.log.seen = self.host, queue.Queue(), []

        def read():
            for line in self.host.stderr:
                self.log.lines.put(line.rstrip('\n'))
            self.log.lines.put(None)
        threading.Thread(target=read, daemon=True).start()

    def calls(self, method):
        obj = self.bus.get_object('org.bluez', ADAPTER)
        return dbus.Interface(obj, dbusmock.MOCK_IFACE).GetMethodCalls(method)

    def test_config_starts_the_reader_reload_stops_it(self):
        self.mock.AddAdapter('hci0', 'door')
        self.write_config({'enabled': True, 'reader_id': 'front', 'rssi_floor_dbm': -70})
        self.start_host()
        self.log.expect(r'BLE: discovering on /org/bluez/hci0 \(RSSI floor -70 dBm\)')
        self.assertEqual(dict(self.calls('SetDiscoveryFilter')[0][1][0])['RSSI'], -70)
        self.write_config({'enabled': False})
        self.host.send_signal(signal.SIGHUP)
        self.log.expect(r'config reloaded')
        deadline = time.monotonic() + 5
        while not self.calls('StopDiscovery') and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(self.calls('StopDiscovery')), 1)
        self.host.stdin.close()
        self.assertEqual(self.host.wait(timeout=20), 0)

    def test_no_adapter_is_logged_with_its_code_and_porter_runs(self):
        self.write_config({'enabled': True})
        self.start_host()
        self.log.expect(r'porter started')
        self.log.expect(r'BLE \[PORTER-D020\]: there is no Bluetooth adapter')
        self.host.stdin.close()
        self.assertEqual(self.host.wait(timeout=20), 0)


if __name__ == '__main__':
    if not CLIENT:
        print('BLECLIENT is not set', file=sys.stderr)
        sys.exit(77)
    unittest.main(verbosity=2)
