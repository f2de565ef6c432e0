# A small Carthage layout for tests/plugin/test-carthage.sh: a NAT network
# with a pool, a static address, a bridge network and three machines.
from carthage import inject, Injector
from carthage.modeling import CarthageLayout, NetworkModel, MachineModel, NetworkConfigModel, injector_access
from carthage.network import V4Config


class layout(CarthageLayout):
    layout_name = 'cn_test'

    class lab(NetworkModel):
        v4_config = V4Config(network='10.70.0.0/24', dhcp=True, masquerade=True,
                             pool=('10.70.0.100', '10.70.0.150'), domains='lab.example ~corp.example')
        carthage_net = {'isolate_guests': True}

    class office(NetworkModel):
        bridge_name = 'cn-office'

    class web(MachineModel):
        class net_config(NetworkConfigModel):
            add('eth0', mac=None, net=injector_access('lab'))
            add('eth1', mac=None, net=injector_access('office'))

    class db(MachineModel):
        class net_config(NetworkConfigModel):
            add('eth0', mac='52:54:00:70:00:05', net=injector_access('lab'),
                v4_config=V4Config(address='10.70.0.5'))

    class cache(MachineModel):
        class net_config(NetworkConfigModel):
            add('eth0', mac=None, net=injector_access('lab'), dns_name='')


@inject(injector=Injector)
def carthage_plugin(injector):
    injector.add_provider(layout)
