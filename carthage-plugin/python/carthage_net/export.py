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
    return LinkSpec(
        iface=link.interface, net=link.net.name if link.net else '',
        mac=str(link.mac) if link.mac and link.mac != 'inherit' else None,
        mtu=link.mtu, v4=_v4(link.merged_v4_config), dns_name=link.dns_name,
        untagged_vlan=link.untagged_vlan, allowed_vlans=_vlans(link), local_type=link.local_type,
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
    prefix = layout.injector(ConfigLayout).container_prefix
    machines = []
    for model in models:
        machines.append(MachineSpec(
            name=model.name, domain_name=prefix + model.name,
            links=[link_spec(l) for l in model.network_links.values()],
            settings=dict(getattr(model, 'carthage_net', {}) or {})))
    return [network_spec(n) for n in networks], machines


def write_definitions(directory: str, text: str) -> bool:
    '''DIR/carthage.conf, replaced atomically, only when it changed.'''
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, EXPORT_FILE)
    try:
        with open(path, encoding='utf-8') as f:
            if f.read() == text:
                return False
    except FileNotFoundError:
        pass
    fd, tmp = tempfile.mkstemp(prefix='.carthage.conf.', dir=directory)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return True


async def export_layout(layout, directory: str):
    '''Export LAYOUT into DIRECTORY.  Returns (Export, changed).'''
    networks, machines = await collect(layout)
    export = map_layout(layout.layout_name or type(layout).__name__, networks, machines)
    return export, write_definitions(directory, render_definitions(export))


__all__ = ['collect', 'export_layout', 'write_definitions', 'ExportError', 'EXPORT_FILE']
