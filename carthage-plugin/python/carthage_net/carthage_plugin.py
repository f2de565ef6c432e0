# carthage_plugin.py - what Carthage sees of carthage-net.
#
#   carthage-runner --plugin /usr/share/carthage-net/carthage-plugin \
#       --plugin ./my-layout carthage-net-export /etc/carthage-net/site
#
# - CarthageNetConfig: the carthage_net.* settings of Carthage's config.
# - ExportCommand: `carthage-net-export DIR`, the layout as definitions.
# - CarthageNetBridgeNetwork: Carthage's BridgeNetwork for the networks of
#   a layout that loads this plugin: readiness runs `carthage-net define
#   --start NAME`, the bridge is carthage-net's.
# - CarthageNetVm: a mixin for carthage.libvirt.Vm whose write_config()
#   pipes Carthage's domain XML through `carthage-net render domain`.
# - EventBridge: carthage-net's events as events of Carthage's links.

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
import shlex
import subprocess

import carthage.network
from carthage import ConfigLayout
from carthage.config import ConfigSchema
from carthage.console import CarthageRunnerCommand
from carthage.dependency_injection import AsyncInjector, InjectionKey, Injector, inject

from .events import translate
from .export import export_layout, replace_file
from .mapping import ExportError, default_mac

logger = logging.getLogger('carthage.carthage_net')

__all__ = ['CarthageNetConfig', 'ExportCommand', 'CarthageNetBridgeNetwork', 'CarthageNetVm',
           'EventBridge', 'CarthageNetError', 'carthage_plugin']


class CarthageNetConfig(ConfigSchema, prefix='carthage_net'):

    #: The carthage-net program.
    command: str = 'carthage-net'
    #: The definitions directory the export writes and the live path reads
    #: (-d); empty: carthage-net's own default, and export needs a DIR.
    definitions: str = ''
    #: Further global options, shell-quoted (e.g. "-c qemu:///system").
    options: str = ''


def _settings(injector):
    config = injector(ConfigLayout).carthage_net
    argv = [config.command] + shlex.split(config.options or '')
    if config.definitions:
        argv += ['-d', config.definitions]
    return argv


class CarthageNetError(RuntimeError):

    def __init__(self, message, exit_code=None):
        super().__init__(message)
        self.exit_code = exit_code


async def run_carthage_net(injector, *args, stdin: bytes = None) -> bytes:
    '''Run carthage-net with the configured options; its stdout, or
    CarthageNetError naming the command and what it printed.'''
    argv = _settings(injector) + list(args)
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate(stdin)
    if proc.returncode != 0:
        raise CarthageNetError(f'{shlex.join(argv)} failed (exit {proc.returncode}): '
                               f'{err.decode(errors="replace").strip()}', proc.returncode)
    return out


def carthage_net_name(net) -> str:
    '''The carthage-net name of a Carthage network (mapping's rule).'''
    return (getattr(net, 'carthage_net', None) or {}).get('name', net.name)


_ready_networks = set()


async def define_and_start(injector, net_name: str) -> str:
    '''`carthage-net define --start NAME` (idempotent); the bridge name.'''
    if net_name not in _ready_networks:
        await run_carthage_net(injector, 'define', '--start', net_name)
        _ready_networks.add(net_name)
    xml = (await run_carthage_net(injector, 'render', 'network', net_name)).decode()
    match = re.search(r"<bridge[^>]*\sname=[\"']([^\"']+)[\"']", xml)
    return match.group(1) if match else ''


@inject(config_layout=ConfigLayout, injector=Injector, net=carthage.network.this_network)
class CarthageNetBridgeNetwork(carthage.network.BridgeNetwork):

    '''Carthage's view of a network whose bridge is carthage-net's: made
    ready by `carthage-net define --start`, never created or deleted with
    `ip link` by Carthage.'''

    def __init__(self, net, **kwargs):
        super().__init__(net, **kwargs)
        self.carthage_net_name = carthage_net_name(net)

    async def async_ready(self):
        try:
            bridge = await define_and_start(self.injector, self.carthage_net_name)
        except CarthageNetError as e:
            if e.exit_code != 1:
                raise
            # Not in the definitions (Carthage's external network, say):
            # Carthage's own BridgeNetwork, as without the plugin.
            logger.info('network %s is not carthage-net\'s (%s): Carthage makes its bridge', self.name, e)
            return await super().async_ready()
        if bridge:
            self.bridge_name = bridge
        # carthage-net's bridge: never made or deleted with `ip link` here.
        self.delete_bridge = self.delete_interfaces = False
        return await carthage.network.TechnologySpecificNetwork.async_ready(self)


class CarthageNetVm:

    '''Mix in before carthage.libvirt.Vm: ``class vm(CarthageNetVm, Vm)``.

    Every link gets an explicit MAC (the exported one), every network is
    defined and started, and the domain XML Carthage wrote is rendered
    again by `carthage-net render domain NAME --base FILE`: the interfaces
    become carthage-net's (type network, its metadata), so the hook applies
    isolation when libvirt starts the domain.'''

    async def write_config(self):
        await self.resolve_networking()
        await prepare_links(self.injector, self.name, self.network_links)
        await super().write_config()
        await merge_domain(self.injector, self.name, self.config_path)


async def prepare_links(injector, machine_name: str, links: dict):
    '''Gives each link carthage-net renders its explicit MAC (the one the
    export wrote), and defines and starts its network.'''
    for iface, link in links.items():
        if link.local_type or getattr(link, 'host_interface', None) or getattr(link, 'other', None):
            continue
        if not link.mac or link.mac == 'inherit':
            link.mac = default_mac(machine_name, iface)
        if link.net is not None:
            await define_and_start(injector, carthage_net_name(link.net))


async def merge_domain(injector, machine_name: str, path: str):
    '''PATH (a domain XML) rendered again by `carthage-net render domain
    MACHINE --base PATH`, replaced atomically.'''
    rendered = await run_carthage_net(injector, 'render', 'domain', machine_name, '--base', path)
    replace_file(path, rendered)


class ExportCommand(CarthageRunnerCommand):

    name = 'carthage-net-export'

    subparser_kwargs = dict(help="Write the layout's networks, machines and links as carthage-net definitions.")

    def setup_subparser(self, parser):
        parser.add_argument('directory', nargs='?', default=None,
                            help='definitions directory (default: carthage_net.definitions); '
                                 'carthage.conf there is replaced')
        parser.add_argument('--strict', action='store_true',
                            help='fail when the layout uses a feature carthage-net cannot express')
        parser.add_argument('--no-validate', dest='validate', action='store_false',
                            help='do not run carthage-net validate on the result')

    async def run(self, args):
        from carthage.modeling import CarthageLayout
        directory = args.directory or self.ainjector.injector(ConfigLayout).carthage_net.definitions
        if not directory:
            logger.error('carthage-net-export: give a DIRECTORY or set carthage_net.definitions')
            return 2
        layout = await self.ainjector.get_instance_async(CarthageLayout)
        config = self.ainjector.injector(ConfigLayout).carthage_net
        validate_argv = [config.command] + shlex.split(config.options or '')

        def validate(sources):
            # The new text checked with the directory's other files before
            # it replaces the old: an invalid export writes nothing.
            result = subprocess.run(validate_argv + sources + ['validate'], capture_output=True, text=True)
            if result.returncode != 0:
                raise ExportError('carthage-net validate refused the export (nothing written):\n'
                                  + result.stderr.strip())
            print(result.stdout.strip())

        try:
            export, changed = await export_layout(layout, directory, validate if args.validate else None)
        except ExportError as e:
            logger.error('carthage-net-export: %s', e)
            return 1
        for item in export.unsupported:
            logger.warning('%s', item)
        if args.strict and export.unsupported:
            logger.error('carthage-net-export: %d feature(s) not exported (--strict)', len(export.unsupported))
            return 1
        print(f'{directory}/carthage.conf: {"written" if changed else "unchanged"} '
              f'({len(export.networks)} networks, {len(export.machines)} machines)')
        return 0


class EventBridge:

    '''Follows `carthage-net events --follow --json` and emits, on each
    Carthage link named, InjectionKey(NetworkLink) events
    "carthage_net_resolved" (tap, mac, ipv4) and "public_address"
    (address, public_address, nat).  For a masquerade or one-to-one
    public address not set in the layout, the link's merged_v4_config
    .public_address is filled in, as Carthage's docs leave to a Machine
    that discovers it.'''

    def __init__(self, injector, models, domains):
        self.injector = injector
        self.models = {m.name: m for m in models}
        self.domains = domains
        self.filled = set()  # links whose public_address this bridge set

    def link_for(self, event):
        model = self.models.get(event.machine)
        if model is None:
            return None
        links = model.network_links
        if event.iface:
            return links.get(event.iface)
        for link in links.values():
            if link.net is not None and carthage_net_name(link.net) == event.network and \
                    str(link.merged_v4_config.address) == event.fields.get('address'):
                return link
        return None

    def deliver(self, line: str):
        for event in translate(line, self.domains):
            link = self.link_for(event)
            if link is None:
                continue
            # A public address the layout has is the layout's; one this
            # bridge filled in follows what carthage-net announces now.
            if event.event == 'public_address' and event.fields.get('public_address') and \
                    (not link.merged_v4_config.public_address or link in self.filled):
                link.merged_v4_config.public_address = ipaddress.IPv4Address(event.fields['public_address'])
                self.filled.add(link)
            self.injector.emit_event(InjectionKey(carthage.network.NetworkLink), event.event, link,
                                     **event.fields)

    async def follow(self, since: int = None):
        '''Events after SEQ SINCE; by default, from now on (not the past
        runs the log still has).'''
        if since is None:
            lines = (await run_carthage_net(self.injector, 'events', '--json')).decode().splitlines()
            since = json.loads(lines[-1]).get('seq', 0) if lines else 0
        argv = _settings(self.injector) + ['events', '--follow', '--json', '--since', str(since)]
        proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE)
        try:
            while line := await proc.stdout.readline():
                self.deliver(line.decode(errors='replace'))
        finally:
            if proc.returncode is None:
                proc.terminate()
                await proc.wait()


@inject(injector=Injector)
def carthage_plugin(injector):
    injector.add_provider(InjectionKey(carthage.network.BridgeNetwork), CarthageNetBridgeNetwork,
                          allow_multiple=True, replace=True)
    injector.add_provider(ExportCommand)
