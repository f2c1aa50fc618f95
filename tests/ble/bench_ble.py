#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench_ble.py: adverts per second porter's BLE driver sustains with N
devices in range (BENCHMARKS.md, "BLE reader").

A private system bus; bench_sender takes org.bluez and sends PropertiesChanged
adverts for N devices at each offered rate; ble_client (the driver on the
reference host loop, --bench) hands every event to porter.so's on_ble hook
(loaded through porter.h, a local site made with porter-admin), counts them,
its CPU time, how late a 1 ms timer on the same loop fires (how long the
loop thread is held), and times one on_ble call per tick around the call
alone: the hook's latency in the same run.

    bench_ble.py BUILD_DIR [DEVICES] [SECONDS] [RATE...]
"""
import os
import json
import shutil
import subprocess
import sys
import tempfile
import time

import dbusmock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_ble_reader  # noqa: E402
from test_ble_reader import Client  # noqa: E402


def main():
    build = sys.argv[1]
    devices = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 5
    rates = [int(r) for r in sys.argv[4:]] or [1000, 5000, 10000, 20000, 40000]
    test_ble_reader.CLIENT = os.path.join(build, 'tests/ble/ble_client')
    tmp = tempfile.mkdtemp(prefix='porter-ble-bench-')
    admin = os.path.join(build, 'porter-admin')
    key, directory = os.path.join(tmp, 'pin.key'), os.path.join(tmp, 'directory.json')
    subprocess.run([admin, 'keygen', key], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([admin, 'add', '--directory', directory, '--key', key, '--id', 'm-ana',
                    '--kind', 'member', '--name', 'Ana'], input='1234\n', text=True,
                   check=True, stdout=subprocess.DEVNULL)
    config = os.path.join(tmp, 'config.json')
    with open(config, 'w') as f:
        json.dump({'local': {'directory': directory, 'pin_key_file': key,
                             'database': os.path.join(tmp, 'presence.db')}}, f)
    dbusmock.DBusTestCase.start_system_bus()
    children, clients = [], [None]
    try:
        run(build, devices, seconds, rates, config, children, clients)
    finally:
        for p in children + [c.proc for c in clients if c]:
            if p.poll() is None:
                p.kill()
            p.wait()
        dbusmock.DBusTestCase.stop_dbus(dbusmock.DBusTestCase.system_bus_pid)
        shutil.rmtree(tmp)


def run(build, devices, seconds, rates, config, children, clients):
    print('devices rate_offered sent delivered adverts_per_s cpu_us_per_advert '
          'loop_late_p50_us loop_late_p99_us loop_late_max_us '
          'on_ble_p50_us on_ble_p99_us on_ble_p999_us on_ble_max_us')
    for rate in rates:
        sender = subprocess.Popen([os.path.join(build, 'tests/ble/bench_sender'), str(devices),
                                   str(rate), str(seconds)], stdout=subprocess.PIPE, text=True)
        children.append(sender)
        assert sender.stdout.readline().strip() == 'OWNER'
        c = clients[0] = Client(['--bench', '--floor', '-127', '--max-devices', str(devices * 2),
                    '--plugin', os.path.join(build, 'porter.so'), '--config', config])
        c.expect('^READY$')
        c.expect('BLE: discovering on')
        c.send('stats')  # from here on
        first = dict(kv.split('=') for kv in c.expect('^STATS (.*)').group(1).split())
        sent, took = sender.stdout.readline().split()[1:3]
        sender.wait()
        time.sleep(0.5)  # what is still queued
        c.send('stats')
        fields = dict(kv.split('=') for kv in c.expect('^STATS (.*)').group(1).split())
        hook = dict(kv.split('=') for kv in c.expect('^HOOK (.*)').group(1).split())
        events = int(fields['events']) - int(first['events'])
        cpu = float(fields['cpu_s']) - float(first['cpu_s'])
        c.send('quit')
        c.proc.wait()
        c.close()
        print('%d %d %s %d %.0f %.1f %s %s %s %.2f %.2f %.2f %.1f' % (
            devices, rate, sent, events, events / float(took),
            cpu * 1e6 / max(events, 1), fields['late_p50_us'],
            fields['late_p99_us'], fields['late_max_us'],
            int(hook['p50_ns']) / 1e3, int(hook['p99_ns']) / 1e3, int(hook['p999_ns']) / 1e3,
            int(hook['max_ns']) / 1e3))


if __name__ == '__main__':
    main()
