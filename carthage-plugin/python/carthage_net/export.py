# export.py - a Carthage layout's networks and links, read into mapping's
# plain data, and written as one carthage-net definitions directory.

from __future__ import annotations

import os
import tempfile

from .mapping import V4, NetSpec, LinkSpec, MachineSpec, ExportError, map_layout, render_definitions

EXPORT_FILE = 'carthage.conf'


def _addr(value):
    if value is None or value is False:
        return value
    value = getattr(value, 'ip_address', value)
    return str(value)


def _v4(config) -> V4:
    if config is None:
        return V4()
    pool = getattr(config, 'pool', None)
    return V4(
        network=str(config.network) if config.network is not None else None,
        gateway=_addr(config.gateway),
        dhcp=config.dhcp,
        dhcp_ranges=[(str(lo), str(hi)) for lo, hi in (config.dhcp_ranges or [])] or None,
        dns_servers=[str(s) for s in config.dns_servers] if config.dns_servers else None,
        domains=config.domains,
        masquerade=config.masquerade,
        pool=(str(pool[0]), str(pool[1])) if pool else None,
        address=_addr(config.address),
        public_address=_addr(config.public_address),
        secondary_addresses=[(_addr(a.private), _addr(a.public)) for a in (config.secondary_addresses or [])]
        or None,
        metric=config.metric,
    )


def _vlans(link):
    '''allowed_vlans as carthage-net writes them: ints and (low, high).'''
    if not link.allowed_vlans:
        return None
    from carthage.network.base import VlanList
    result = []
    for v in VlanList.canonicalize(link.allowed_vlans, link):
        if isinstance(v, slice):
            result.append((v.start, v.stop))
        else:
            result.append(int(v))
    return result


def network_spec(net) -> NetSpec:
    try:
        v4 = _v4(net.v4_config)
    except AttributeError:
        v4 = V4()
    return NetSpec(name=net.name, vlan_id=net.vlan_id, bridge_name=getattr(net, 'bridge_name', None),
                   mtu=getattr(net, 'mtu', None), v4=v4, settings=dict(getattr(net, 'carthage_net', {}) or {}))


def link_spec(link) -> LinkSpec:
    other = getattr(link, 'other', None)
    try:
        vlans = _vlans(link)
    except ValueError as e:
        raise ExportError(f'machine {link.machine.name} link {link.interface}: allowed_vlans: {e}') from None
    return LinkSpec(
        iface=link.interface, net=link.net.name if link.net else '',
        mac=str(link.mac) if link.mac and link.mac != 'inherit' else None,
        mtu=link.mtu, v4=_v4(link.merged_v4_config), dns_name=link.dns_name,
        untagged_vlan=link.untagged_vlan, allowed_vlans=vlans, local_type=link.local_type,
        host_interface=getattr(link, 'host_interface', None),
        other=f'{other.machine.name} {other.interface}' if other is not None and other.machine else None,
        model=getattr(link, 'model', None), settings=dict(getattr(link, 'carthage_net', {}) or {}))


async def collect(layout):
    '''Resolve the layout's networking, assign pool addresses once per
    network, and read networks and machines into plain data.'''
    from carthage.machine import AbstractMachineModel
    await layout.resolve_networking()
    models = [m for m in await layout.all_models(ready=False) if isinstance(m, AbstractMachineModel)]
    networks = []
    for model in models:
        for link in model.network_links.values():
            if link.net is not None and link.net not in networks:
                networks.append(link.net)
    for net in networks:
        net.assign_addresses()
    from carthage import ConfigLayout
    machines = []
    for model in models:
        # Vm.full_name: the prefix of the machine's own configuration.
        prefix = model.injector(ConfigLayout).container_prefix
        machines.append(MachineSpec(
            name=model.name, domain_name=prefix + model.name,
            links=[link_spec(l) for l in model.network_links.values()],
            settings=dict(getattr(model, 'carthage_net', {}) or {})))
    return [network_spec(n) for n in networks], machines


def replace_file(path: str, data: bytes, mode: int = 0o644):
    '''PATH replaced at once by DATA (written beside it, synced, renamed).'''
    directory = os.path.dirname(path) or '.'
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def sources_with(directory: str, candidate: str) -> list:
    '''carthage-net's -f arguments for DIRECTORY's *.conf in name order,
    with CANDIDATE in place of DIRECTORY/carthage.conf.'''
    names = sorted(set(n for n in os.listdir(directory) if n.endswith('.conf')) | {EXPORT_FILE}) \
        if os.path.isdir(directory) else [EXPORT_FILE]
    args = []
    for name in names:
        args += ['-f', candidate if name == EXPORT_FILE else os.path.join(directory, name)]
    return args


def write_definitions(directory: str, text: str, check=None) -> bool:
    '''DIR/carthage.conf, replaced atomically, only when it changed.  CHECK,
    when given, is called with the -f arguments of DIR as it would be (the
    new text in a scratch file) and raises to keep the old file.'''
    path = os.path.join(directory, EXPORT_FILE)
    try:
        with open(path, encoding='utf-8') as f:
            if f.read() == text:
                return False
    except FileNotFoundError:
        pass
    if check:
        with tempfile.TemporaryDirectory(prefix='carthage-net-export.') as scratch:
            candidate = os.path.join(scratch, EXPORT_FILE)
            with open(candidate, 'w', encoding='utf-8') as f:
                f.write(text)
            check(sources_with(directory, candidate))
    os.makedirs(directory, exist_ok=True)
    replace_file(path, text.encode('utf-8'))
    return True


async def export_layout(layout, directory: str, check=None):
    '''Export LAYOUT into DIRECTORY.  Returns (Export, changed).'''
    networks, machines = await collect(layout)
    export = map_layout(layout.layout_name or type(layout).__name__, networks, machines)
    return export, write_definitions(directory, render_definitions(export), check)


__all__ = ['collect', 'export_layout', 'write_definitions', 'ExportError', 'EXPORT_FILE']
