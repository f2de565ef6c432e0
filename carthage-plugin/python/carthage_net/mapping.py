# mapping.py - Carthage's network model, as plain data, to carthage-net
# definitions (GLib key files, see carthage-net.conf(5)).
#
# Pure: no Carthage import, no I/O.  export.py reads a Carthage layout
# into these dataclasses; render_definitions() turns them into the text of
# one definitions file, and reports what carthage-net cannot express by
# name (Unsupported) instead of dropping it.  The mapping table is in
# docs/carthage.md.

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import re
import typing

__all__ = [
    'ExportError', 'Unsupported', 'NetSpec', 'LinkSpec', 'MachineSpec',
    'Export', 'default_mac', 'map_layout', 'render_definitions',
]

NAME_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$')
DNS_LABEL_RE = re.compile(r'^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$')
MAC_RE = re.compile(r'^[0-9a-f]{2}(:[0-9a-f]{2}){5}$')
IFNAME_MAX = 15

TECHNOLOGIES = ('libvirt', 'bridge', 'openvswitch', 'ovn')

# carthage-net settings a layout may give as plugin attributes
# (``carthage_net = {...}``) on a network, a machine or a link: key ->
# where it goes.  Everything else there is an error naming the key.
NETWORK_SETTINGS = frozenset({
    'name', 'technology', 'forward', 'isolate_guests', 'delete_bridge', 'v4.gateway',
    'metadata', 'metadata.address', 'metadata.port', 'metadata.hostname',
    'metadata.handler', 'metadata.tokens', 'metadata.hop_limit',
    'ipv6', 'v6.network', 'v6.gateway', 'allowed_ethertypes', 'broadcast_limit',
    'ovn.northbound', 'ovn.private_key', 'ovn.certificate', 'ovn.ca_certificate',
    'ovn.uplink', 'ovn.uplink_address', 'ovn.uplink_gateway',
    'ovn.gateway_chassis', 'ovn.distributed_nat', 'pools',
})
MACHINE_SETTINGS = frozenset({'metadata.handler', 'metadata.tokens', 'metadata.hop_limit'})
LINK_SETTINGS = frozenset({'pool', 'model', 'v6.address'})
POOL_SETTINGS = frozenset({'size', 'prefix', 'owner', 'group'})
# Settings only a libvirt-technology network serves (carthage-net.conf(5),
# "What applies where").
LIBVIRT_ONLY = ('forward', 'metadata')


class ExportError(ValueError):
    '''A layout carthage-net cannot take as it is.  Like Carthage's own
    errors, the message starts with the model and the link it is about.'''


@dataclasses.dataclass(frozen=True)
class Unsupported:
    '''A Carthage feature carthage-net cannot express, named.'''
    where: str    # "network lab", "machine web link eth0"
    feature: str  # Carthage's attribute: "host_interface", "v4_config.metric"
    why: str

    def __str__(self):
        return f'{self.where}: {self.feature} not exported: {self.why}'


@dataclasses.dataclass
class V4:
    '''The V4Config attributes carthage-net reads (None: unset).'''
    network: typing.Optional[str] = None
    gateway: typing.Any = None          # address, or False (Carthage: no default route)
    dhcp: typing.Optional[bool] = None
    dhcp_ranges: typing.Optional[list] = None   # [(low, high)]
    dns_servers: typing.Optional[list] = None
    domains: typing.Optional[str] = None
    masquerade: typing.Optional[bool] = None
    pool: typing.Optional[tuple] = None          # (low, high)
    address: typing.Optional[str] = None
    public_address: typing.Optional[str] = None
    secondary_addresses: typing.Optional[list] = None  # [(private, public or None)]
    metric: typing.Optional[int] = None


@dataclasses.dataclass
class NetSpec:
    name: str                         # Carthage's Network.name
    vlan_id: typing.Optional[int] = None
    bridge_name: typing.Optional[str] = None
    mtu: typing.Optional[int] = None
    v4: V4 = dataclasses.field(default_factory=V4)
    settings: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class LinkSpec:
    iface: str
    net: str                          # NetSpec.name
    mac: typing.Optional[str] = None
    mtu: typing.Optional[int] = None
    v4: V4 = dataclasses.field(default_factory=V4)
    dns_name: typing.Optional[str] = None   # None: the machine's name; "": none
    untagged_vlan: typing.Optional[int] = None
    allowed_vlans: typing.Optional[list] = None  # ints and (low, high)
    local_type: typing.Optional[str] = None
    host_interface: typing.Optional[str] = None
    other: typing.Optional[str] = None      # "machine iface" of the other side
    model: typing.Optional[str] = None
    settings: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class MachineSpec:
    name: str
    domain_name: typing.Optional[str] = None
    links: list = dataclasses.field(default_factory=list)   # LinkSpec
    settings: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Export:
    '''What map_layout() made: key-file groups in order, what was left out.'''
    layout: str
    groups: list                      # (header, [(key, value)])
    unsupported: list                 # Unsupported
    machines: dict                    # machine name -> libvirt domain name
    networks: dict                    # Carthage network name -> carthage-net name


def default_mac(machine: str, iface: str) -> str:
    '''carthage-net's own default MAC for a link (src/alloc/alloc-mac.c):
    SHA-256 of "carthage-net", MACHINE and IFACE, each NUL-terminated; the
    first six bytes, locally administered and unicast.'''
    digest = hashlib.sha256(b'carthage-net\0' + machine.encode() + b'\0' + iface.encode() + b'\0').digest()
    octets = bytearray(digest[:6])
    octets[0] = (octets[0] & 0xfc) | 0x02
    return ':'.join(f'{b:02x}' for b in octets)


def _normal_mac(text, where) -> str:
    mac = str(text).strip().lower().replace('-', ':')
    if not MAC_RE.match(mac):
        raise ExportError(f'{where}: mac {text!r} is not a MAC address')
    if int(mac[:2], 16) & 1:
        raise ExportError(f'{where}: mac {mac} is a multicast address')
    return mac


def _value(value) -> str:
    '''A key-file value as carthage-net reads it.'''
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (list, tuple)):
        return ';'.join(_value(v) for v in value)
    return str(value)


def _check_settings(settings, allowed, where):
    for key in settings:
        if key not in allowed:
            raise ExportError(f'{where}: carthage_net setting {key!r} is not one of: {", ".join(sorted(allowed))}')


def _technology(net: NetSpec) -> str:
    tech = net.settings.get('technology')
    if tech is None:
        return 'bridge' if net.bridge_name else 'libvirt'
    if tech not in TECHNOLOGIES:
        raise ExportError(f'network {net.name}: carthage_net technology {tech!r} is not one of: {", ".join(TECHNOLOGIES)}')
    return tech


def _net_name(net: NetSpec) -> str:
    name = net.settings.get('name', net.name)
    if not NAME_RE.match(name):
        raise ExportError(
            f'network {net.name}: {name!r} is not a carthage-net network name (1-64 characters of '
            f'[A-Za-z0-9_.-]); give one with carthage_net = {{"name": ...}} on the network')
    return name


def _dns_servers(v4: V4, where: str) -> list:
    try:
        return [str(ipaddress.IPv4Address(str(s))) for s in (v4.dns_servers or [])]
    except ValueError as e:
        raise ExportError(f'{where}: v4_config.dns_servers: {e} (carthage-net forwards to IPv4 servers)') from None


def _domains(v4: V4, where, unsupported) -> typing.Optional[str]:
    '''Carthage's domains: search domains, "~" routing-only domains, space
    separated.  carthage-net has one DNS domain per network: the first
    plain one.  The rest are named as unsupported.'''
    if not v4.domains:
        return None
    words = str(v4.domains).split()
    plain = [w for w in words if not w.startswith('~')]
    rest = [w for w in words if w not in plain[:1]]
    if rest:
        unsupported.append(Unsupported(where, 'v4_config.domains',
                                       f'{" ".join(rest)}: carthage-net gives a network one DNS domain'
                                       + (f' ({plain[0]})' if plain else '')))
    return plain[0] if plain else None


def _host_gateway(net: NetSpec, network: str, links: list, unsupported) -> typing.Optional[str]:
    '''carthage-net's v4.gateway is the host's own address on the network;
    Carthage's gateway is the guests' router, often one of the machines.
    The plugin's v4.gateway wins; else Carthage's when no machine has it;
    else carthage-net's default (the first host address).  A machine
    holding the host's address is an error naming both.'''
    where = f'network {net.name}'
    addresses = {link.v4.address: who for who, link in links if link.v4.address}
    gateway = net.settings.get('v4.gateway')
    carthage_gateway = net.v4.gateway
    if gateway is None and carthage_gateway not in (None, False):
        if str(carthage_gateway) in addresses:
            unsupported.append(Unsupported(where, 'v4_config.gateway',
                                           f'{carthage_gateway} is {addresses[str(carthage_gateway)]}\'s address (a '
                                           'guest routes this network); carthage-net\'s gateway is the host\'s own'))
        else:
            gateway = str(carthage_gateway)
    host = gateway or str(next(ipaddress.IPv4Network(network).hosts()))
    if host in addresses:
        raise ExportError(f'{where}: {host}, the host\'s address on the network, is also {addresses[host]}\'s; give '
                          'the host another with carthage_net = {"v4.gateway": ...} on the network')
    return gateway


def _network_group(net: NetSpec, tech: str, name: str, has_links_needing_v4: list, links: list,
                   unsupported) -> list:
    where = f'network {net.name}'
    keys = [('technology', tech)] if tech != 'libvirt' or 'technology' in net.settings else []
    if net.bridge_name:
        keys.append(('bridge_name', net.bridge_name))
    elif tech in ('bridge', 'openvswitch'):
        raise ExportError(f'{where}: technology {tech} needs a bridge_name on the network')
    if net.vlan_id is not None:
        if tech == 'openvswitch':
            keys.append(('vlan_id', net.vlan_id))
        else:
            unsupported.append(Unsupported(where, 'vlan_id',
                                           f'{net.vlan_id}: libvirt tags VLANs only on Open vSwitch '
                                           f'(carthage_net technology = "openvswitch"); this network is {tech}'))
    if net.mtu:
        keys.append(('mtu', net.mtu))
    for key in ('forward', 'isolate_guests', 'delete_bridge'):
        if key in net.settings:
            keys.append((key, net.settings[key]))
    v4 = net.v4
    if tech in ('libvirt', 'ovn'):
        network = v4.network
        if network is None:
            # Set on the links only: theirs, when they agree.
            on_links = {link.v4.network for _, link in links if link.v4.network}
            if len(on_links) == 1:
                network = on_links.pop()
        if network is None and has_links_needing_v4:
            raise ExportError(f'{where}: v4_config.network is required: {has_links_needing_v4[0]}')
        if network is not None:
            network = str(ipaddress.IPv4Network(str(network)))
            keys.append(('v4.network', network))
            if v4.gateway is False:
                unsupported.append(Unsupported(where, 'v4_config.gateway',
                                               'False (no default route): the host is always the gateway of a '
                                               'network it serves'))
            gateway = _host_gateway(net, network, links, unsupported)
            if gateway:
                keys.append(('v4.gateway', gateway))
        if v4.dhcp is not None:
            keys.append(('v4.dhcp', bool(v4.dhcp)))
        if v4.dhcp_ranges:
            keys.append(('v4.dhcp_ranges', [f'{lo}-{hi}' for lo, hi in v4.dhcp_ranges]))
        if v4.dns_servers:
            keys.append(('v4.dns_servers', _dns_servers(v4, where)))
        domain = _domains(v4, where, unsupported)
        if domain:
            keys.append(('v4.domains', domain))
        if v4.masquerade:
            keys.append(('v4.masquerade', True))
        if v4.pool:
            keys.append(('v4.pool', f'{v4.pool[0]}-{v4.pool[1]}'))
        if v4.metric is not None:
            unsupported.append(Unsupported(where, 'v4_config.metric', 'route metrics are the guest\'s own'))
        if v4.public_address:
            unsupported.append(Unsupported(where, 'v4_config.public_address',
                                           f'{v4.public_address}: a network has no public address in carthage-net '
                                           '(Carthage\'s is often a NAT outside the host); links that inherit it '
                                           'do not get it either'))
    elif any(getattr(v4, f) not in (None, [], False) for f in ('network', 'dhcp', 'dhcp_ranges', 'pool',
                                                               'dns_servers', 'domains', 'masquerade')):
        unsupported.append(Unsupported(where, 'v4_config',
                                       f'on a {tech} network the guests configure themselves: carthage-net '
                                       'serves no DHCP, DNS or NAT there'))
    for key in sorted(net.settings):
        if key.startswith(('metadata', 'ipv6', 'v6.', 'allowed_ethertypes', 'broadcast_limit', 'ovn.')):
            if key.startswith(LIBVIRT_ONLY) and tech not in ('libvirt', 'ovn'):
                raise ExportError(f'{where}: carthage_net {key} applies only to libvirt or ovn networks (this is {tech})')
            keys.append((key, net.settings[key]))
    return keys


def _link_group(machine: MachineSpec, link: LinkSpec, net: NetSpec, tech: str, net_name: str, dns_named: set,
                unsupported) -> list:
    where = f'machine {machine.name} link {link.iface}'
    keys = [('net', net_name), ('mac', link.mac)]
    model = link.settings.get('model', link.model)
    if model and model != 'virtio':
        keys.append(('model', model))
    if link.mtu:
        keys.append(('mtu', link.mtu))
    v4 = link.v4
    if tech in ('libvirt', 'ovn'):
        if v4.address:
            keys.append(('v4.address', v4.address))
        if v4.public_address and v4.public_address != net.v4.public_address:
            keys.append(('v4.public_address', v4.public_address))
        if v4.secondary_addresses:
            keys.append(('v4.secondary_addresses',
                         [f'{p}={q}' if q else f'{p}' for p, q in v4.secondary_addresses]))
        # A DNS record needs an address; the machine's own name goes to its
        # first link on the network (carthage-net: one name, one record).
        dns_name = link.dns_name
        if dns_name is None and v4.address and (machine.name, net_name) not in dns_named:
            dns_name = machine.name
        if dns_name and v4.address:
            keys.append(('dns_name', dns_name))
            dns_named.add((machine.name, net_name))
        elif dns_name:
            unsupported.append(Unsupported(where, 'dns_name', f'{dns_name}: the link has no IPv4 address to '
                                           'record'))
        # Inherited from the network: reported there, once.
        if v4.gateway is False and net.v4.gateway is not False:
            unsupported.append(Unsupported(where, 'v4_config.gateway',
                                           'False (no default route through this link): a guest-side choice '
                                           'carthage-net does not hand out'))
        if v4.metric is not None and v4.metric != net.v4.metric:
            unsupported.append(Unsupported(where, 'v4_config.metric', 'route metrics are the guest\'s own'))
    elif v4.address or v4.secondary_addresses:
        unsupported.append(Unsupported(where, 'v4_config.address',
                                       f'on a {tech} network the guest configures its own address'))
    if link.untagged_vlan is not None or link.allowed_vlans:
        if tech != 'openvswitch':
            unsupported.append(Unsupported(where, 'untagged_vlan/allowed_vlans',
                                           f'trunk ports need an openvswitch network; {net_name} is {tech}'))
        elif link.allowed_vlans:
            if link.untagged_vlan is not None:
                keys.append(('untagged_vlan', link.untagged_vlan))
            keys.append(('allowed_vlans', [f'{v[0]}-{v[1]}' if isinstance(v, tuple) else str(v)
                                           for v in link.allowed_vlans]))
        elif link.untagged_vlan != net.vlan_id:
            # An access port on another VLAN than the network's: a trunk of
            # that one VLAN, untagged.
            keys.append(('untagged_vlan', link.untagged_vlan))
            keys.append(('allowed_vlans', str(link.untagged_vlan)))
    for key in ('pool', 'v6.address'):
        if key in link.settings:
            keys.append((key, link.settings[key]))
    return keys


def _guest_side(machine: MachineSpec, link: LinkSpec, unsupported) -> bool:
    '''Links carthage-net cannot render as a libvirt interface: named.'''
    where = f'machine {machine.name} link {link.iface}'
    if link.local_type:
        unsupported.append(Unsupported(where, f'local_type {link.local_type}',
                                       'an interface made inside the guest, not a host port'))
        return True
    if link.host_interface:
        unsupported.append(Unsupported(where, 'host_interface',
                                       f'macvtap on {link.host_interface}: carthage-net renders network ports only'))
        return True
    if link.other:
        unsupported.append(Unsupported(where, 'other',
                                       f'bound to {link.other}: carthage-net renders network ports only'))
        return True
    return False


def map_layout(layout: str, networks: list, machines: list) -> Export:
    '''Map a layout's networks and machines (plain data) to key-file groups.
    Raises ExportError on what no definition could say; the rest that
    carthage-net cannot express is listed in Export.unsupported.'''
    unsupported = []
    nets = {}
    for net in networks:
        if net.name in nets:
            raise ExportError(f'network {net.name}: two Carthage networks with this name')
        _check_settings(net.settings, NETWORK_SETTINGS, f'network {net.name}')
        nets[net.name] = net
    names = {}
    for net in nets.values():
        name = _net_name(net)
        if name in names.values():
            other = next(k for k, v in names.items() if v == name)
            raise ExportError(f'network {net.name}: carthage-net name {name} is also that of network {other}')
        names[net.name] = name
    tech = {n: _technology(net) for n, net in nets.items()}

    seen_machines = set()
    macs = {}
    rendered = []        # (machine, link)
    needs_v4 = {n: [] for n in nets}
    domains = {}
    for machine in sorted(machines, key=lambda m: m.name):
        if machine.name in seen_machines:
            raise ExportError(f'machine {machine.name}: two machines with this name')
        seen_machines.add(machine.name)
        if not all(DNS_LABEL_RE.match(label) for label in machine.name.split('.')):
            raise ExportError(f'machine {machine.name}: carthage-net machine names are DNS names '
                              '(labels of [A-Za-z0-9-], separated by dots)')
        _check_settings(machine.settings, MACHINE_SETTINGS, f'machine {machine.name}')
        domains[machine.name] = machine.domain_name or machine.name
        for link in sorted(machine.links, key=lambda l: l.iface):
            where = f'machine {machine.name} link {link.iface}'
            _check_settings(link.settings, LINK_SETTINGS, where)
            if _guest_side(machine, link, unsupported):
                continue
            if link.net not in nets:
                raise ExportError(f'{where}: network {link.net} is not in the layout')
            if len(link.iface) > IFNAME_MAX:
                raise ExportError(f'{where}: interface name longer than {IFNAME_MAX} characters')
            link.mac = _normal_mac(link.mac, where) if link.mac else default_mac(machine.name, link.iface)
            if link.mac in macs:
                raise ExportError(f'{where}: MAC {link.mac} is also the MAC of {macs[link.mac]}')
            macs[link.mac] = where
            net = nets[link.net]
            v4 = link.v4
            if tech[link.net] in ('libvirt', 'ovn') and (v4.address or v4.public_address or net.v4.pool
                                                         or net.v4.dhcp):
                needs_v4[link.net].append(f'{where} has an IPv4 address or asks for one')
            rendered.append((machine, link))

    groups = []
    dns_named = set()
    for carthage_name in sorted(nets, key=lambda n: names[n]):
        net = nets[carthage_name]
        on_net = [(f'machine {m.name} link {l.iface}', l) for m, l in rendered if l.net == carthage_name]
        groups.append((f'network {names[carthage_name]}',
                       _network_group(net, tech[carthage_name], names[carthage_name],
                                      needs_v4[carthage_name], on_net, unsupported)))
        for pool_name, pool in sorted((net.settings.get('pools') or {}).items()):
            _check_settings(pool, POOL_SETTINGS, f'network {carthage_name} pool {pool_name}')
            if 'size' not in pool:
                raise ExportError(f'network {carthage_name} pool {pool_name}: size is required')
            groups.append((f'pool {pool_name}', [('size', pool['size']), ('net', names[carthage_name])]
                           + [(k, pool[k]) for k in ('prefix', 'owner', 'group') if k in pool]))
    for machine in sorted(machines, key=lambda m: m.name):
        keys = []
        if machine.domain_name and machine.domain_name != machine.name:
            if not all(DNS_LABEL_RE.match(label) for label in machine.domain_name.split('.')):
                raise ExportError(f'machine {machine.name}: libvirt domain name {machine.domain_name!r} is not a '
                                  'DNS name (set container_prefix to letters, digits and "-")')
            keys.append(('domain_name', machine.domain_name))
        keys += sorted(machine.settings.items())
        if keys:
            groups.append((f'machine {machine.name}', keys))
        for m, link in rendered:
            if m is machine:
                groups.append((f'link {machine.name} {link.iface}',
                               _link_group(machine, link, nets[link.net], tech[link.net], names[link.net],
                                           dns_named, unsupported)))
    return Export(layout=layout, groups=groups, unsupported=unsupported, machines=domains, networks=names)


def render_definitions(export: Export) -> str:
    '''The text of the definitions file: a header naming the layout, what
    was not exported, then the groups in order.'''
    out = [f'# carthage-net definitions exported from the Carthage layout {export.layout}.',
           '# Written by carthage-runner carthage-net-export; edits here are lost at the next export:',
           '# change the layout, or layer a later file over this one (carthage-net -d DIR -d LOCAL).']
    if export.unsupported:
        out.append('#')
        out.append('# Not exported (carthage-net cannot express these):')
        out.extend(f'#   {u}' for u in export.unsupported)
    for header, keys in export.groups:
        out.append('')
        out.append(f'[{header}]')
        out.extend(f'{key} = {_value(value)}' for key, value in keys)
    return '\n'.join(out) + '\n'
