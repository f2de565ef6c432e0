# carthage_net - carthage-net's Carthage plugin.
#
# Carthage loads it with `carthage-runner --plugin
# /usr/share/carthage-net/carthage-plugin`; carthage_plugin.py registers
# what Carthage sees.  mapping.py and events.py are plain Python, usable
# (and tested) without Carthage.
