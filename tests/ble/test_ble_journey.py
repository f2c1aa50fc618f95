#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""test_ble_journey.py: a phone near porter's own BLE reader checks a member
in and out, end to end (issue 9).

porter.so runs in the reference host (porter-host, dlopen) with `ble_reader`
enabled against python3-dbusmock's BlueZ (bluez_ble.py) on a private system
bus. The "phone" is a mock Device1 whose ManufacturerData carries the token
`porter-admin ble token` computes for the member's key. The test sequences on
the host's output (stdout and stderr in one pipe), never on sleeps alone;
calibration mode gives one log line per advert porter looked at, which is how
the test knows that a far advert was processed and did nothing.

Also here: examples/porter-advertise computing the rotating token itself from
a member's key (--key-file), checked against `porter-admin ble token`.
"""
import json
import os
import queue
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import dbus
import dbusmock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_ble_reader import ADAPTER, MOCK, SLOW, TEMPLATE, Client, ay  # noqa: E402

COMPANY = 0xFFFF  # docs/ble-credential.md: the default company id
NEAR = -40
FAR = -65  # over ble_reader's floor (-80): porter sees it; under rssi_min_dbm


def wrap(cmd):
    """`cmd` under valgrind memcheck with $PORTER_BLE_VALGRIND (exit 9 on an
    error; test_ble_reader's SLOW lengthens every wait)."""
    if os.environ.get('PORTER_BLE_VALGRIND'):
        return ['valgrind', '--error-exitcode=9', '--leak-check=full', '--quiet',
                '--errors-for-leak-kinds=definite,indirect'] + cmd
    return cmd


def admin(*args, stdin=None):
    return subprocess.run([os.environ['PORTER_ADMIN']] + list(args), input=stdin, text=True,
                          check=True, capture_output=True).stdout


class Output(Client):
    """A process's merged stdout+stderr, line by line (Client's expect())."""

    def __init__(self, proc):
        self.proc, self.lines, self.seen = proc, queue.Queue(), []
        threading.Thread(target=self._read, daemon=True).start()

    def quiet(self, pattern, seconds):
        """No line matching `pattern` for `seconds`."""
        try:
            m = self.expect(pattern, timeout=seconds)
        except AssertionError:
            return
        raise AssertionError('unexpected line: %s' % m.string)


class Site:
    """A directory with member Ana (PIN and BLE key), a PIN key, a database."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix='porter-ble-journey-')
        self.key = os.path.join(self.tmp, 'pin.key')
        self.directory = os.path.join(self.tmp, 'directory.json')
        self.database = os.path.join(self.tmp, 'presence.db')
        admin('keygen', self.key)
        out = admin('add', '--directory', self.directory, '--key', self.key, '--id', 'm-ana',
                    '--kind', 'member', '--name', 'Ana', '--ble-key', stdin='1234\n')
        self.ble_key = re.search(r'porter-ble:1:[0-9a-f]{64}', out).group(0)

    def token(self, unix_s):
        """(counter, payload bytes) of Ana's token at `unix_s`."""
        out = admin('ble', 'token', 'm-ana', '--directory', self.directory, '--key', self.key,
                    '--time', str(unix_s))
        m = re.search(r'counter (\d+) payload ([0-9a-f]{24})', out)
        return int(m.group(1)), bytes.fromhex(m.group(2))

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


class JourneyTest(dbusmock.DBusTestCase):
    @classmethod
    def setUpClass(cls):
        cls.start_system_bus()
        cls.bus = cls.get_dbus(system_bus=True)

    def setUp(self):
        for var in ('PORTER_HOST', 'PORTER_SO', 'PORTER_ADMIN'):
            if not os.environ.get(var):
                self.skipTest(var + ' is not set')
        self.site = Site()
        self.bluez, obj = self.spawn_server_template(TEMPLATE, {}, stdout=subprocess.DEVNULL)
        self.mock = dbus.Interface(obj, MOCK)
        self.mock.AddAdapter('hci0', 'door')
        self.host = None

    def tearDown(self):
        if self.host:
            if self.host.poll() is None:
                self.host.kill()
            self.host.wait()
            self.host.stdin.close()
            self.host.stdout.close()
        self.bluez.terminate()
        self.bluez.wait()
        self.site.close()

    def start_host(self):
        config = os.path.join(self.site.tmp, 'config.json')
        with open(config, 'w') as f:
            json.dump({'local': {'directory': self.site.directory,
                                 'pin_key_file': self.site.key,
                                 'database': self.site.database},
                       # the cooldown and the toggle's repeat window short, to
                       # keep the test short (defaults 15 s and 3 s)
                       'repeat_window_ms': 1000,
                       'ble_reader': {'enabled': True, 'reader_id': 'front'},
                       'ble': {'rssi_min_dbm': -50, 'samples': 3, 'window_ms': 2000,
                               'cooldown_ms': 1000, 'calibration': True}}, f)
        self.host = subprocess.Popen(
            wrap([os.environ['PORTER_HOST'], '--plugin', os.environ['PORTER_SO'], '--config',
                  config, '--reader', 'front', '--log=plain']),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            bufsize=1)
        self.out = Output(self.host)
        self.out.expect(r'BLE: discovering on /org/bluez/hci0')

    def stop_host(self):
        self.host.stdin.close()
        self.assertEqual(self.host.wait(timeout=20 * SLOW), 0)
        self.host.stdout.close()
        self.host = None

    def phone(self, address, payload, rssi):
        return self.mock.AddBleDevice('hci0', address, dbus.Int16(rssi),
                                      {dbus.UInt16(COMPANY): ay(list(payload))}, {}, [],
                                      signature='ssna{qv}a{sv}as')

    def advert(self, path, rssi):
        """One more advert from `path` at `rssi`; returns once porter saw it."""
        self.mock.UpdateBleDevice(path, {'RSSI': dbus.Int16(rssi, variant_level=1)})
        self.out.expect(r'BLE calibration: reader front member m-ana %d dBm' % rssi)

    def approach(self, path, adverts=3):
        """Held next to the reader: adverts at or over rssi_min_dbm, three in
        all (a phone that appeared near brought the first one itself)."""
        for i in range(adverts):
            self.advert(path, NEAR - 1 - i)

    def test_far_near_checked_in_replay_refused_fresh_token_checked_out(self):
        self.start_host()
        now = int(time.time())
        counter, payload = self.site.token(now)
        # Far away: porter looks at every advert, and nothing happens.
        phone = self.phone('C0:FF:EE:00:00:01', payload, FAR)
        self.out.expect(r'BLE calibration: reader front member m-ana %d dBm' % FAR)
        for rssi in (FAR - 1, FAR - 2, FAR - 3):
            self.advert(phone, rssi)
        self.out.quiet(r'unlocked|\[front\]', 0.5)
        # Near for three samples: checked in.
        self.approach(phone)
        self.out.expect(r'^\[door front\] unlocked for \d+ ms')
        self.out.expect(r'^\[front\] .*Welcome, Ana\. You are checked in\.')
        # After the cooldown, the same token from a new address (a phone
        # rotating its address, or someone who recorded the advert) is not
        # accepted again: the payload fired already, whoever sends it.
        time.sleep(1.2)
        replay = self.phone('C0:FF:EE:00:00:02', payload, NEAR)
        self.out.expect(r'BLE calibration: reader front member m-ana %d dBm' % NEAR)
        self.approach(replay, 2)
        self.out.quiet(r'unlocked|checked (in|out)', 1.0)
        # The phone's next token (the next time step, inside the drift
        # window): checked out.
        counter2, payload2 = self.site.token(now + 30)
        self.assertEqual(counter2, counter + 1)
        fresh = self.phone('C0:FF:EE:00:00:03', payload2, NEAR)
        self.out.expect(r'BLE calibration: reader front member m-ana %d dBm' % NEAR)
        self.approach(fresh, 2)
        self.out.expect(r'^\[door front\] unlocked for \d+ ms')
        self.out.expect(r'^\[front\] .*Goodbye, Ana\. You are checked out\.')
        self.stop_host()
        # Across a restart too: that token was consumed, from any address.
        self.start_host()
        again = self.phone('C0:FF:EE:00:00:04', payload2, NEAR)
        for rssi in (NEAR - 1, NEAR - 2):  # with the first, three samples
            self.mock.UpdateBleDevice(again, {'RSSI': dbus.Int16(rssi, variant_level=1)})
        self.out.expect(r'reader front: BLE token of m-ana refused: already used')
        self.out.quiet(r'unlocked|checked (in|out)', 0.5)
        self.stop_host()
        db = sqlite3.connect(self.site.database)
        rows = db.execute('SELECT person_id, direction, reader_id FROM presence_log '
                          'ORDER BY seq').fetchall()
        db.close()
        self.assertEqual(rows, [('m-ana', 'in', 'front'), ('m-ana', 'out', 'front')])


class AdvertiserTokenTest(dbusmock.DBusTestCase):
    """examples/porter-advertise --key-file advertises the member's rotating
    token, the same one `porter-admin ble token` computes, and registers the
    advertisement again at each new time step."""

    @classmethod
    def setUpClass(cls):
        cls.start_system_bus()
        cls.bus = cls.get_dbus(system_bus=True)

    def setUp(self):
        for var in ('PORTER_ADVERTISE', 'PORTER_ADMIN'):
            if not os.environ.get(var):
                self.skipTest(var + ' is not set')
        self.site = Site()
        self.key_file = os.path.join(self.site.tmp, 'ana.ble')
        with open(self.key_file, 'w') as f:
            f.write(self.site.ble_key + '\n')
        self.bluez, obj = self.spawn_server_template(TEMPLATE, {}, stdout=subprocess.DEVNULL)
        self.mock = dbus.Interface(obj, MOCK)
        self.mock.AddAdapter('hci0', 'door')
        self.mock.AddLeAdvertising('hci0')
        self.adv = None

    def tearDown(self):
        if self.adv:
            if self.adv.poll() is None:
                self.adv.kill()
            self.adv.wait()
            self.adv.stdout.close()
        self.bluez.terminate()
        self.bluez.wait()
        self.site.close()

    def calls(self, method):
        obj = self.bus.get_object('org.bluez', ADAPTER)
        return dbus.Interface(obj, dbusmock.MOCK_IFACE).GetMethodCalls(method)

    def start(self, *args):
        self.adv = subprocess.Popen(wrap([os.environ['PORTER_ADVERTISE'], '--key-file',
                                          self.key_file] + list(args)),
                                    stdout=subprocess.PIPE, text=True)
        self.out = Output(self.adv)

    def registration(self):
        """(counter, payload advertised, what bluetoothd reads back)."""
        m = self.out.expect(r'^TOKEN counter (\d+) payload ([0-9a-f]{24})$')
        counter, payload = int(m.group(1)), bytes.fromhex(m.group(2))
        name, path = self.out.expect(r'^REGISTERED (\S+) (\S+)$').groups()
        props = self.bus.get_object(name, path).GetAll(
            'org.bluez.LEAdvertisement1', dbus_interface=dbus.PROPERTIES_IFACE)
        read = {int(k): bytes(v) for k, v in props['ManufacturerData'].items()}
        return counter, payload, read

    def test_advertises_what_porter_admin_computes(self):
        before = int(time.time()) // 30
        self.start()
        counter, payload, read = self.registration()
        self.assertIn(counter, (before, before + 1))
        # The same key at the same moment: porter-admin's token.
        self.assertEqual(self.site.token(counter * 30), (counter, payload))
        self.assertEqual(read, {COMPANY: payload})
        self.assertNotIn(self.site.ble_key[13:], '\n'.join(self.out.seen))
        self.adv.send_signal(signal.SIGTERM)
        self.out.expect('^UNREGISTERED$')
        self.assertEqual(self.adv.wait(timeout=10 * SLOW), 0)

    def test_a_new_time_step_registers_the_new_token(self):
        with open(self.key_file, 'w') as f:  # the hex alone is a key file too
            f.write(self.site.ble_key[13:])
        self.start('--time-step', '1')
        first, payload1, read1 = self.registration()
        second, payload2, read2 = self.registration()
        self.assertGreater(second, first)
        self.assertNotEqual(payload1, payload2)
        self.assertEqual(read2, {COMPANY: payload2})
        # Same hint (the key's), the step byte names the new counter.
        self.assertEqual(payload2[:3], payload1[:3])
        self.assertEqual(payload2[3], second % 256)
        self.assertGreaterEqual(len(self.calls('RegisterAdvertisement')), 2)
        self.assertGreaterEqual(len(self.calls('UnregisterAdvertisement')), 1)
        self.adv.send_signal(signal.SIGTERM)
        self.out.expect('^UNREGISTERED$')
        self.assertEqual(self.adv.wait(timeout=10 * SLOW), 0)

    def test_a_bad_key_file_is_named_and_the_key_not_shown(self):
        with open(self.key_file, 'w') as f:
            f.write('porter-ble:1:' + 'ab' * 31 + '\n')
        r = subprocess.run(wrap([os.environ['PORTER_ADVERTISE'], '--key-file', self.key_file]),
                           capture_output=True, text=True, timeout=20 * SLOW)
        self.assertEqual(r.returncode, 2)
        self.assertIn('--key-file %s: want porter-ble:1: and 64 hex digits' % self.key_file,
                      r.stderr)
        self.assertNotIn('ab' * 31, r.stderr)
        self.assertEqual(self.calls('RegisterAdvertisement'), [])


if __name__ == '__main__':
    unittest.main(verbosity=2)
