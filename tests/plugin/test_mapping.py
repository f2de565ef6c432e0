#!/usr/bin/env python3
# test_mapping.py - the Carthage plugin's mapping and event translation, on
# plain data (no Carthage needed).  Speaks TAP.  When CARTHAGE_NET is the
# built carthage-net, the exported text is validated and rendered by it.
#
#   CARTHAGE_NET=_build/plain/carthage-net python3 tests/plugin/test_mapping.py

import json
import os
import random
import subprocess
import sys
import tempfile
import traceback

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '..', '..', 'carthage-plugin', 'python'))

from carthage_net.mapping import (V4, NetSpec, LinkSpec, MachineSpec, ExportError,  # noqa: E402
                                  default_mac, map_layout, render_definitions)
from carthage_net.events import translate  # noqa: E402

CLI = os.environ.get('CARTHAGE_NET')


def lab_layout():
    '''The issue's small layout: a NAT network with a pool, a bridge
    network, static addresses and three machines.'''
    networks = [
        NetSpec('lab', v4=V4(network='10.70.0.0/24', dhcp=True, masquerade=True,
                             pool=('10.70.0.100', '10.70.0.150'), dns_servers=['192.0.2.53'],
                             domains='lab.example'),
                settings={'isolate_guests': True}),
        NetSpec('office', bridge_name='br-office', mtu=1500),
    ]
    machines = [
        MachineSpec('web', domain_name='carthage-web', links=[
            LinkSpec('eth0', 'lab', v4=V4(address='10.70.0.146')),
            LinkSpec('eth1', 'office')]),
        MachineSpec('db', domain_name='carthage-db', links=[
            LinkSpec('eth0', 'lab', mac='52:54:00:11:22:33', v4=V4(address='10.70.0.5'))]),
        MachineSpec('cache', domain_name='carthage-cache', links=[
            LinkSpec('eth0', 'lab', dns_name='', v4=V4(address='10.70.0.124'))]),
    ]
    return networks, machines


def export_text(networks, machines, layout='lab'):
    return render_definitions(map_layout(layout, networks, machines))


def run_cli(text, *args):
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, 'carthage.conf'), 'w') as f:
            f.write(text)
        return subprocess.run([CLI, '-d', d, '--state-dir', os.path.join(d, 'state')] + list(args),
                              capture_output=True, text=True)


def group(text, header):
    '''The key = value lines of [header] in TEXT.'''
    lines, on = {}, False
    for line in text.splitlines():
        if line.startswith('['):
            on = line == f'[{header}]'
        elif on and ' = ' in line:
            k, v = line.split(' = ', 1)
            lines[k] = v
    return lines


def expect_error(fragment, networks, machines):
    try:
        map_layout('bad', networks, machines)
    except ExportError as e:
        assert fragment in str(e), f'{fragment!r} not in {e}'
        return str(e)
    raise AssertionError(f'no ExportError (expected {fragment!r})')


tests = []


def test(fn):
    tests.append(fn)
    return fn


@test
def the_lab_layout_matches_its_golden_file():
    text = export_text(*lab_layout())
    golden = os.path.join(here, 'expected', 'lab.conf')
    if os.environ.get('CN_REGENERATE_GOLDEN'):
        with open(golden, 'w') as f:
            f.write(text)
    with open(golden) as f:
        assert text == f.read(), 'export differs from tests/plugin/expected/lab.conf'


@test
def the_order_of_the_layout_does_not_change_the_text():
    networks, machines = lab_layout()
    first = export_text(networks, machines)
    for seed in range(5):
        networks, machines = lab_layout()
        random.Random(seed).shuffle(networks)
        random.Random(seed).shuffle(machines)
        for m in machines:
            random.Random(seed).shuffle(m.links)
        assert export_text(networks, machines) == first


@test
def the_header_names_the_layout():
    assert export_text(*lab_layout(), layout='hadron_lab').startswith(
        '# carthage-net definitions exported from the Carthage layout hadron_lab.')


@test
def every_link_gets_an_explicit_mac_and_pooled_links_their_address():
    text = export_text(*lab_layout())
    assert group(text, 'link db eth0')['mac'] == '52:54:00:11:22:33'
    assert group(text, 'link web eth0')['mac'] == default_mac('web', 'eth0')
    assert group(text, 'link web eth0')['v4.address'] == '10.70.0.146'
    assert group(text, 'link cache eth0')['v4.address'] == '10.70.0.124'


@test
def dns_name_is_the_machine_name_unless_empty():
    text = export_text(*lab_layout())
    assert group(text, 'link web eth0')['dns_name'] == 'web'
    assert 'dns_name' not in group(text, 'link cache eth0')


@test
def the_domain_name_is_carried():
    text = export_text(*lab_layout())
    assert group(text, 'machine web') == {'domain_name': 'carthage-web'}


@test
def technology_is_inferred_from_bridge_name_or_taken_from_the_plugin():
    networks, machines = lab_layout()
    text = export_text(networks, machines)
    assert 'technology' not in group(text, 'network lab')
    assert group(text, 'network office')['technology'] == 'bridge'
    networks = [NetSpec('trunk', vlan_id=10, bridge_name='br-trunk', settings={'technology': 'openvswitch'})]
    machines = [MachineSpec('r', links=[LinkSpec('eth0', 'trunk', untagged_vlan=10, allowed_vlans=[10, (20, 30)])])]
    text = export_text(networks, machines)
    assert group(text, 'network trunk') == {'technology': 'openvswitch', 'bridge_name': 'br-trunk', 'vlan_id': '10'}
    assert group(text, 'link r eth0')['allowed_vlans'] == '10;20-30'


@test
def dns_servers_become_upstream_forwarders():
    assert group(export_text(*lab_layout()), 'network lab')['v4.dns_servers'] == '192.0.2.53'


@test
def carthage_only_features_are_reported_by_name():
    networks = [NetSpec('lab', vlan_id=7, v4=V4(network='10.1.0.0/24', gateway=False, metric=5,
                                               domains='a.example b.example ~corp')),
                NetSpec('lan', v4=V4(network='10.2.0.0/24'))]
    machines = [MachineSpec('m', links=[
        LinkSpec('eth0', 'lab', v4=V4(metric=10, gateway=False)),
        LinkSpec('eth1', 'lan', v4=V4(gateway=False)),
        LinkSpec('mv0', 'lab', host_interface='enp1s0'),
        LinkSpec('vlan7', 'lab', local_type='vlan'),
        LinkSpec('veth0', 'lab', other='router eth3')])]
    export = map_layout('x', networks, machines)
    named = {(u.where, u.feature) for u in export.unsupported}
    for item in [('network lab', 'vlan_id'), ('network lab', 'v4_config.gateway'),
                 ('network lab', 'v4_config.metric'), ('network lab', 'v4_config.domains'),
                 ('machine m link eth0', 'v4_config.metric'), ('machine m link eth1', 'v4_config.gateway'),
                 ('machine m link mv0', 'host_interface'), ('machine m link vlan7', 'local_type vlan'),
                 ('machine m link veth0', 'other')]:
        assert item in named, f'{item} not reported: {named}'
    # Inherited from the network: reported there, not again on each link.
    assert ('machine m link eth0', 'v4_config.gateway') not in named
    text = render_definitions(export)
    assert '[link m mv0]' not in text and '[link m vlan7]' not in text and '[link m veth0]' not in text
    assert '#   machine m link mv0: host_interface not exported' in text
    assert group(text, 'network lab')['v4.domains'] == 'a.example'


@test
def plugin_settings_reach_their_groups():
    networks = [NetSpec('ci', v4=V4(network='10.61.0.0/24', dhcp=True, pool=('10.61.0.10', '10.61.0.99')),
                        settings={'metadata': True, 'metadata.handler': '8775', 'forward': 'nat',
                                  'pools': {'ci-taps': {'size': 4, 'prefix': 'citap'}}})]
    machines = [MachineSpec('runner-1', settings={'metadata.handler': '9001'},
                            links=[LinkSpec('eth0', 'ci', settings={'pool': 'ci-taps'})])]
    text = export_text(networks, machines)
    assert group(text, 'network ci')['metadata'] == 'true'
    assert group(text, 'network ci')['forward'] == 'nat'
    assert group(text, 'pool ci-taps') == {'size': '4', 'net': 'ci', 'prefix': 'citap'}
    assert group(text, 'machine runner-1') == {'metadata.handler': '9001'}
    assert group(text, 'link runner-1 eth0')['pool'] == 'ci-taps'


@test
def two_links_with_one_mac_name_both():
    networks, machines = lab_layout()
    machines[0].links[0].mac = '52:54:00:11:22:33'
    message = expect_error('MAC 52:54:00:11:22:33 is also the MAC of machine db link eth0', networks, machines)
    assert message.startswith('machine web link eth0:')


@test
def a_network_without_v4_network_where_one_is_needed_names_the_link():
    networks = [NetSpec('lab', v4=V4(dhcp=True))]
    machines = [MachineSpec('web', links=[LinkSpec('eth0', 'lab')])]
    expect_error('network lab: v4_config.network is required: machine web link eth0', networks, machines)


@test
def other_bad_layouts_are_refused_by_name():
    expect_error("network external network: 'external network' is not a carthage-net network name",
                 [NetSpec('external network')], [])
    expect_error("network lab: carthage_net setting 'isolate' is not one of",
                 [NetSpec('lab', settings={'isolate': True})], [])
    expect_error('machine web link eth0: network nowhere is not in the layout',
                 [], [MachineSpec('web', links=[LinkSpec('eth0', 'nowhere')])])
    expect_error('machine web_1: carthage-net machine names are DNS names',
                 [NetSpec('lab')], [MachineSpec('web_1', links=[LinkSpec('eth0', 'lab')])])
    expect_error('machine web link eth0: mac 01:00:5e:00:00:01 is a multicast address', [NetSpec('lab')],
                 [MachineSpec('web', links=[LinkSpec('eth0', 'lab', mac='01:00:5E:00:00:01')])])
    expect_error('network ci pool p: size is required',
                 [NetSpec('ci', v4=V4(network='10.0.0.0/24'), settings={'pools': {'p': {}}})], [])
    expect_error('technology bridge needs a bridge_name', [NetSpec('o', settings={'technology': 'bridge'})], [])


@test
def carthage_net_takes_the_export():
    if not CLI:
        return 'skip CARTHAGE_NET not set'
    text = export_text(*lab_layout())
    result = run_cli(text, 'validate')
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('valid: 2 networks, 3 machines, 4 links'), result.stdout
    # carthage-net gives pooled and static links the exported address.
    result = run_cli(text, 'render', 'network', 'lab')
    assert result.returncode == 0, result.stderr
    assert "ip='10.70.0.146'" in result.stdout.replace('"', "'"), result.stdout


def validates(networks, machines):
    '''The export of NETWORKS and MACHINES, checked by carthage-net validate.'''
    text = export_text(networks, machines)
    result = run_cli(text, 'validate')
    assert result.returncode == 0, text + result.stderr
    return text


@test
def layouts_carthage_allows_validate():
    if not CLI:
        return 'skip CARTHAGE_NET not set'
    # DHCP only, no pool: links without an address get no DNS record.
    text = validates([NetSpec('d', v4=V4(network='10.6.0.0/24', dhcp=True,
                                         dhcp_ranges=[('10.6.0.100', '10.6.0.200')]))],
                     [MachineSpec('web', links=[LinkSpec('eth0', 'd')])])
    assert 'dns_name' not in group(text, 'link web eth0')
    # A machine with two links on one network: its name on the first.
    text = validates([NetSpec('n', v4=V4(network='10.7.0.0/24'))],
                     [MachineSpec('web', links=[LinkSpec('eth0', 'n', v4=V4(address='10.7.0.5')),
                                                LinkSpec('eth1', 'n', v4=V4(address='10.7.0.6'))])])
    assert group(text, 'link web eth0')['dns_name'] == 'web'
    assert 'dns_name' not in group(text, 'link web eth1')
    # Carthage's router pattern: the gateway is a guest's address.
    export = map_layout('r', [NetSpec('lan', v4=V4(network='10.5.0.0/24', gateway='10.5.0.254'))],
                        [MachineSpec('router', links=[LinkSpec('eth0', 'lan', v4=V4(address='10.5.0.254'))])])
    assert ('network lan', 'v4_config.gateway') in {(u.where, u.feature) for u in export.unsupported}
    text = validates([NetSpec('lan', v4=V4(network='10.5.0.0/24', gateway='10.5.0.254'))],
                     [MachineSpec('router', links=[LinkSpec('eth0', 'lan', v4=V4(address='10.5.0.254'))])])
    assert 'v4.gateway' not in group(text, 'network lan')
    # A network-wide public_address (often a cloud's NAT) is not copied onto links.
    text = validates([NetSpec('n', v4=V4(network='10.8.0.0/24', public_address='203.0.113.1'))],
                     [MachineSpec('a', links=[LinkSpec('eth0', 'n', v4=V4(address='10.8.0.5',
                                                                         public_address='203.0.113.1'))]),
                      MachineSpec('b', links=[LinkSpec('eth0', 'n', v4=V4(address='10.8.0.6',
                                                                         public_address='203.0.113.1'))])])
    assert 'v4.public_address' not in text
    # An access port on another VLAN, and ovn's vlan_id (reported, not written).
    text = validates([NetSpec('trunk', vlan_id=10, bridge_name='br-t', settings={'technology': 'openvswitch'}),
                      NetSpec('o', vlan_id=5, v4=V4(network='10.9.0.0/24'), settings={'technology': 'ovn'})],
                     [MachineSpec('sw', links=[LinkSpec('eth0', 'trunk', untagged_vlan=20),
                                               LinkSpec('eth1', 'trunk', untagged_vlan=10)])])
    assert group(text, 'link sw eth0')['allowed_vlans'] == '20'
    assert 'allowed_vlans' not in group(text, 'link sw eth1')
    assert 'vlan_id' not in group(text, 'network o')


@test
def the_host_address_taken_by_a_machine_is_an_error():
    expect_error('10.5.0.1, the host\'s address on the network, is also machine router link eth0\'s',
                 [NetSpec('lan', v4=V4(network='10.5.0.0/24'))],
                 [MachineSpec('router', links=[LinkSpec('eth0', 'lan', v4=V4(address='10.5.0.1'))])])
    expect_error('v4_config.dns_servers', [NetSpec('n', v4=V4(network='10.1.0.0/24', dns_servers=['2001:db8::1']))], [])


@test
def carthage_objects_are_read_into_plain_data():
    '''export.py's readers on stand-ins with Carthage's attributes (a link's
    merged_v4_config already holds what it inherits).'''
    from types import SimpleNamespace as NS
    from carthage_net.export import network_spec, link_spec
    v4 = NS(network='10.1.0.0/24', gateway=None, dhcp=True, dhcp_ranges=None, dns_servers=['192.0.2.1'],
            domains='a.example', masquerade=True, pool=('10.1.0.10', '10.1.0.20'), address=None,
            public_address=None, secondary_addresses=[], metric=None)
    net = NS(name='lab', vlan_id=None, v4_config=v4, carthage_net={'isolate_guests': True})
    spec = network_spec(net)
    assert (spec.name, spec.v4.network, spec.v4.pool, spec.bridge_name) == ('lab', '10.1.0.0/24',
                                                                          ('10.1.0.10', '10.1.0.20'), None)
    merged = NS(**{**vars(v4), 'address': '10.1.0.11', 'public_address': NS(ip_address='203.0.113.9')})
    machine = NS(name='web')
    link = NS(interface='eth0', net=net, mac=None, mtu=None, merged_v4_config=merged, dns_name=None,
              untagged_vlan=None, allowed_vlans=None, local_type=None, machine=machine)
    spec = link_spec(link)
    assert (spec.iface, spec.net, spec.mac, spec.v4.address, spec.v4.public_address) == (
        'eth0', 'lab', None, '10.1.0.11', '203.0.113.9')
    bare = NS(name='bare', vlan_id=3)  # no v4_config at all
    assert network_spec(bare).v4.network is None


@test
def default_mac_is_carthage_nets_own():
    if not CLI:
        return 'skip CARTHAGE_NET not set'
    text = '[network n]\nv4.network = 10.9.0.0/24\n\n[link host.example eth3]\nnet = n\n'
    result = run_cli(text, 'render', 'interface', 'host.example', 'eth3')
    assert result.returncode == 0, result.stderr
    assert default_mac('host.example', 'eth3') in result.stdout, result.stdout


@test
def events_become_events_of_carthage_links():
    domains = {'web': 'carthage-web', 'db': 'carthage-db'}
    line = json.dumps({'seq': 3, 'event': 'resolved', 'machine': 'web', 'domain': 'carthage-web', 'links': [
        {'iface': 'eth0', 'network': 'lab', 'tap': 'vnet0', 'mac': '9e:71:f6:42:cb:63', 'ipv4': ['10.70.0.146']}]})
    [event] = translate(line, domains)
    assert (event.event, event.machine, event.iface, event.network) == ('carthage_net_resolved', 'web', 'eth0', 'lab')
    assert event.fields == {'tap': 'vnet0', 'mac': '9e:71:f6:42:cb:63', 'ipv4': ['10.70.0.146']}
    line = json.dumps({'event': 'public_address', 'machine': 'carthage-db', 'network': 'lab',
                       'address': '10.70.0.5', 'public_address': '203.0.113.5', 'nat': 'masquerade'})
    [event] = translate(line, domains)
    assert (event.event, event.machine, event.iface) == ('public_address', 'db', None)
    assert event.fields['public_address'] == '203.0.113.5'
    # Not ours, not a link's, or not JSON: nothing.
    assert translate(json.dumps({'event': 'resolved', 'machine': 'other', 'links': []}), domains) == []
    assert translate(json.dumps({'event': 'network-started', 'network': 'lab'}), domains) == []
    assert translate('not json', domains) == []
    assert translate('[1,2]', domains) == []


def main():
    print(f'1..{len(tests)}')
    failed = 0
    for n, fn in enumerate(tests, 1):
        name = fn.__name__.replace('_', ' ')
        try:
            result = fn()
        except Exception:
            failed += 1
            print(f'not ok {n} - {name}')
            for line in traceback.format_exc().splitlines():
                print(f'# {line}')
            continue
        if isinstance(result, str) and result.startswith('skip'):
            print(f'ok {n} - {name} # SKIP {result[5:]}')
        else:
            print(f'ok {n} - {name}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
