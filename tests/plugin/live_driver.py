#!/usr/bin/env python3
# live_driver.py CONFIG MACHINE DOMAIN_XML - the plugin's live path under
# Carthage (tests/plugin/test-carthage.sh): load CONFIG (plugins: the
# carthage-net plugin and the test layout), resolve the layout, make the
# machine's networks ready through Carthage's BridgeNetwork (the plugin's
# CarthageNetBridgeNetwork: carthage-net define --start), give its links
# their MACs, and pipe DOMAIN_XML through carthage-net render domain, as
# CarthageNetVm.write_config() does after Carthage's template.
# Prints "bridge NETWORK NAME" per network and "mac IFACE MAC" per link.
import asyncio
import sys

sys.path.insert(0, sys.argv[4]) if len(sys.argv) > 4 else None

import carthage  # noqa: E402
from carthage import base_injector, ConfigLayout  # noqa: E402
from carthage.dependency_injection import AsyncInjector, InjectionKey  # noqa: E402
import carthage.network  # noqa: E402


async def main(config_path, machine_name, xml_path):
    base_injector.add_provider(InjectionKey(asyncio.AbstractEventLoop), asyncio.get_running_loop())
    config = base_injector(ConfigLayout)
    with open(config_path) as f:
        config.load_yaml(f)
    from carthage.modeling import instantiate_layout
    from carthage_net.carthage_plugin import prepare_links, merge_domain
    ainjector = base_injector(AsyncInjector)
    layout = await ainjector(instantiate_layout, config.layout_name)
    await layout.resolve_networking()
    models = {m.name: m for m in await layout.all_models(ready=False)}
    model = models[machine_name]
    for net in {l.net for l in model.network_links.values()}:
        net.assign_addresses()
    await prepare_links(model.injector, machine_name, model.network_links)
    # The interfaces as Carthage's vm-config.mako writes them.
    nics = ''
    for iface, link in sorted(model.network_links.items()):
        instance = await link.instantiate(carthage.network.BridgeNetwork)
        print(f'bridge {link.net.name} {type(instance).__name__} {instance.bridge_name}')
        print(f'mac {iface} {link.mac} {link.merged_v4_config.address}')
        nics += (f"<interface type='bridge'><mac address='{link.mac}'/><source bridge='{instance.bridge_name}'/>"
                 f"<model type='virtio'/></interface>\n")
    with open(xml_path) as f:
        xml = f.read()
    with open(xml_path, 'w') as f:
        f.write(xml.replace('</devices>', nics + '</devices>', 1))
    await merge_domain(model.injector, machine_name, xml_path)


asyncio.run(main(*sys.argv[1:4]))
