# events.py - carthage-net's event log, in Carthage's terms.
#
# Pure: translate() takes one line of `carthage-net events --json` and the
# export's machine -> domain table and says which Carthage link each
# record is about.  carthage_plugin.EventBridge emits them.

from __future__ import annotations

import dataclasses
import json
import typing

__all__ = ['LinkEvent', 'translate', 'LINK_EVENTS']

# The events a Carthage NetworkLink gets (InjectionKey(NetworkLink)).
LINK_EVENTS = ('carthage_net_resolved', 'public_address')


@dataclasses.dataclass(frozen=True)
class LinkEvent:
    '''An event for the link IFACE of MACHINE (Carthage's names).'''
    event: str              # one of LINK_EVENTS
    machine: str
    iface: typing.Optional[str]
    network: str
    fields: dict


def translate(line: str, domains: dict) -> list:
    '''LinkEvents for one event-log line; [] for events that are not about
    a Carthage link.  DOMAINS maps machine name -> libvirt domain name (the
    export's): public_address names the domain.'''
    try:
        record = json.loads(line)
    except ValueError:
        return []
    if not isinstance(record, dict):
        return []
    kind = record.get('event')
    # resolved names the machine (and its domain); public_address names
    # the domain, as the hook's other per-guest events do.
    machine_of = {domain: machine for machine, domain in domains.items()}
    if kind == 'resolved' and record.get('machine') in domains:
        machine = record.get('machine')
    else:
        machine = machine_of.get(record.get('machine'))
    if machine is None:
        return []
    if kind == 'resolved':
        result = []
        for link in record.get('links') or []:
            if not isinstance(link, dict) or not link.get('iface'):
                continue
            result.append(LinkEvent('carthage_net_resolved', machine, link['iface'], link.get('network', ''),
                                    {'tap': link.get('tap'), 'mac': link.get('mac'),
                                     'ipv4': list(link.get('ipv4') or [])}))
        return result
    if kind == 'public_address':
        return [LinkEvent('public_address', machine, None, record.get('network', ''),
                          {'address': record.get('address'), 'public_address': record.get('public_address'),
                           'nat': record.get('nat')})]
    return []
