#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench_ble.py: adverts per second porter's BLE driver sustains with N
devices in range (BENCHMARKS.md, "BLE reader").

A private system bus; bench_sender takes org.bluez and sends PropertiesChanged
adverts for N devices at each offered rate; ble_client (the driver on the
reference host loop, --bench) counts the events it hands on, its CPU time,
and how late a 1 ms timer on the same loop fires (how long the driver holds
the host's loop thread).

    bench_ble.py BUILD_DIR [DEVICES] [SECONDS] [RATE...]
"""
import os
import subprocess
import sys
import time

import dbusmock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_ble_reader import Client  # noqa: E402


def main():
    build = sys.argv[1]
    devices = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 5
    rates = [int(r) for r in sys.argv[4:]] or [1000, 5000, 10000, 20000, 40000]
    os.environ['BLECLIENT'] = os.path.join(build, 'tests/ble/ble_client')
    dbusmock.DBusTestCase.start_system_bus()
    print('devices rate_offered sent delivered adverts_per_s cpu_us_per_advert '
          'loop_late_p50_us loop_late_p99_us loop_late_max_us')
    for rate in rates:
        sender = subprocess.Popen([os.path.join(build, 'tests/ble/bench_sender'), str(devices),
                                   str(rate), str(seconds)], stdout=subprocess.PIPE, text=True)
        assert sender.stdout.readline().strip() == 'OWNER'
        c = Client(['--bench', '--floor', '-127', '--max-devices', str(devices * 2)])
        c.expect('^READY$')
        c.expect('BLE: discovering on')
        c.send('stats')  # from here on
        first = dict(kv.split('=') for kv in c.expect('^STATS (.*)').group(1).split())
        start = time.monotonic()
        sent, _took = sender.stdout.readline().split()[1:3]
        sender.wait()
        time.sleep(0.5)  # what is still queued
        c.send('stats')
        fields = dict(kv.split('=') for kv in c.expect('^STATS (.*)').group(1).split())
        elapsed = time.monotonic() - start
        events = int(fields['events']) - int(first['events'])
        cpu = float(fields['cpu_s']) - float(first['cpu_s'])
        c.send('quit')
        c.proc.wait()
        c.close()
        print('%d %d %s %d %.0f %.1f %s %s %s' % (
            devices, rate, sent, events, events / min(elapsed, seconds + 0.5),
            cpu * 1e6 / max(events, 1), fields['late_p50_us'],
            fields['late_p99_us'], fields['late_max_us']))
    dbusmock.DBusTestCase.stop_dbus(dbusmock.DBusTestCase.system_bus_pid)


if __name__ == '__main__':
    main()
