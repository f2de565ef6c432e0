"""hostile.py - frames a hostile guest sends, and what arrives elsewhere.

Used by tests/system/test-hostile.sh, inside network namespaces it makes:

  sniff IFACE LOG           every frame IFACE receives, one hex line each,
                            until killed (no scapy: starts at once)
  send IFACE KIND ARGS...   one crafted frame (see FRAMES), with scapy
  flood IFACE SRC_MAC SRC_IP COUNT TOKEN
                            COUNT broadcast UDP frames as fast as a raw
                            socket sends them
  count LOG KIND ARGS...    how many frames of LOG match (see matches())
  send-batch IFACE          one frame per line of stdin ("KIND ARGS..."),
                            in order, from one process
  count-batch               one count per line of stdin ("LOG KIND
                            ARGS..."), printed in order

Every frame carries a TOKEN (a short word) where the protocol has room for
one, so that a check finds exactly the frames it sent.
"""
import binascii
import socket
import sys

ETH_P_ALL = 0x0003


def sniff(iface, log):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    # Room for a whole flood: counting is the point.
    s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE
    s.bind((iface, 0))
    with open(log, "a") as out:
        while True:
            frame, addr = s.recvfrom(65535)
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            out.write(binascii.hexlify(frame).decode() + "\n")
            out.flush()


def token_int(token):
    """24 bits from the token: for transaction ids and prefixes."""
    return binascii.crc32(token.encode()) & 0xffffff


def frames():
    from scapy.all import (BOOTP, DHCP, DHCP6_Advertise, DHCP6_Reply, DHCP6_Solicit, DHCP6OptClientId,
                           DHCP6OptServerId, DUID_LL, ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_RA,
                           ICMPv6ND_Redirect, ICMPv6NDOptDstLLAddr, ICMPv6NDOptPrefixInfo, IP, UDP, Dot1AD, Dot1Q,
                           Ether, IPv6, Raw, in6_getnsma, in6_getnsmac, inet_pton)
    import socket as s6

    def solicited(address):
        return s6.inet_ntop(s6.AF_INET6, in6_getnsma(inet_pton(s6.AF_INET6, address)))

    def solicited_mac(address):
        return in6_getnsmac(inet_pton(s6.AF_INET6, address))

    def dhcp4(src_mac, src_ip, token, kind):
        return (Ether(src=src_mac, dst="ff:ff:ff:ff:ff:ff") / IP(src=src_ip, dst="255.255.255.255") /
                UDP(sport=67, dport=68) /
                BOOTP(op=2, xid=token_int(token), yiaddr="10.99.99.99", siaddr=src_ip,
                      chaddr=b"\xff" * 6) /
                DHCP(options=[("message-type", kind), ("server_id", src_ip), ("router", src_ip),
                              ("name_server", src_ip), ("hostname", token.encode()), "end"]))

    def dhcp6(src_mac, src_ll, token, layer):
        return (Ether(src=src_mac, dst="33:33:00:00:00:01") / IPv6(src=src_ll, dst="ff02::1") /
                UDP(sport=547, dport=546) / layer(trid=token_int(token)) /
                DHCP6OptServerId(duid=DUID_LL(lladdr=src_mac)))

    def prefix_of(token):
        # fd00:99:TTTT::/64, from the token: a prefix no one else sends
        return "fd00:99:%x::" % (token_int(token) & 0xffff)

    return {
        # a rogue DHCP server: OFFER and ACK, broadcast
        "dhcp-offer": lambda mac, ip, token: dhcp4(mac, ip, token, "offer"),
        "dhcp-ack": lambda mac, ip, token: dhcp4(mac, ip, token, "ack"),
        # a rogue DHCPv6 server: ADVERTISE and REPLY, to all nodes
        "dhcp6-advertise": lambda mac, ll, token: dhcp6(mac, ll, token, DHCP6_Advertise),
        "dhcp6-reply": lambda mac, ll, token: dhcp6(mac, ll, token, DHCP6_Reply),
        # a DHCP client's discover, from 0.0.0.0 (allowed)
        "dhcp-discover": lambda mac, token: (
            Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255") /
            UDP(sport=68, dport=67) / BOOTP(op=1, xid=token_int(token), chaddr=bytes.fromhex(mac.replace(":", ""))) /
            DHCP(options=[("message-type", "discover"), ("hostname", token.encode()), "end"])),
        # a DHCPv6 client's solicit (allowed)
        "dhcp6-solicit": lambda mac, ll, token: (
            Ether(src=mac, dst="33:33:00:01:00:02") / IPv6(src=ll, dst="ff02::1:2") / UDP(sport=546, dport=547) /
            DHCP6_Solicit(trid=token_int(token)) / DHCP6OptClientId(duid=DUID_LL(lladdr=mac))),
        # a router advertisement of a prefix made from the token
        "ra": lambda mac, ll, token: (
            Ether(src=mac, dst="33:33:00:00:00:01") / IPv6(src=ll, dst="ff02::1") / ICMPv6ND_RA(routerlifetime=1800) /
            ICMPv6NDOptPrefixInfo(prefix=prefix_of(token), prefixlen=64)),
        "redirect": lambda mac, ll, victim_mac, victim_ll, token: (
            Ether(src=mac, dst=victim_mac) / IPv6(src=ll, dst=victim_ll) /
            ICMPv6ND_Redirect(tgt=ll, dst=prefix_of(token) + "1")),
        # a neighbour advertisement for TARGET, overriding, to all nodes
        "na": lambda mac, ll, target, token: (
            Ether(src=mac, dst="33:33:00:00:00:01") / IPv6(src=ll, dst="ff02::1") /
            ICMPv6ND_NA(tgt=target, R=0, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=mac)),
        # duplicate address detection for TARGET, from ::
        "ns-dad": lambda mac, target, token: (
            Ether(src=mac, dst=solicited_mac(target)) / IPv6(src="::", dst=solicited(target)) /
            ICMPv6ND_NS(tgt=target)),
        # echo request over IPv6 from SRC (forged or the guest's own)
        "echo6": lambda mac, src, dst_mac, dst, token: (
            Ether(src=mac, dst=dst_mac) / IPv6(src=src, dst=dst) / ICMPv6EchoRequest(data=token.encode())),
        # UDP over IPv4, plain
        "udp4": lambda mac, src, dst_mac, dst, token: (
            Ether(src=mac, dst=dst_mac) / IP(src=src, dst=dst) / UDP(sport=4000, dport=4000) / Raw(token.encode())),
        # the same inside an 802.1Q tag (VLAN) or an 802.1ad one
        "dot1q": lambda mac, vlan, src, dst_mac, dst, token: (
            Ether(src=mac, dst=dst_mac) / Dot1Q(vlan=int(vlan)) / IP(src=src, dst=dst) /
            UDP(sport=4000, dport=4000) / Raw(token.encode())),
        "dot1ad": lambda mac, vlan, src, dst_mac, dst, token: (
            Ether(src=mac, dst=dst_mac, type=0x88a8) / Dot1AD(vlan=int(vlan)) / Dot1Q(vlan=int(vlan)) /
            IP(src=src, dst=dst) / UDP(sport=4000, dport=4000) / Raw(token.encode())),
        # any ethertype, the token as its payload (LLDP 0x88cc, RARP 0x8035, ...)
        "ethertype": lambda mac, dst_mac, ethertype, token: (
            Ether(src=mac, dst=dst_mac, type=int(ethertype, 16)) / Raw(token.encode() + b"\0" * 40)),
    }


def send(iface, kind, args):
    from scapy.all import sendp
    frame = frames()[kind](*args)
    sendp(frame, iface=iface, verbose=False)
    return 0


def flood(iface, src_mac, src_ip, count, token):
    from scapy.all import IP, UDP, Ether, Raw
    frame = bytes(Ether(src=src_mac, dst="ff:ff:ff:ff:ff:ff") / IP(src=src_ip, dst="255.255.255.255") /
                  UDP(sport=4001, dport=4001) / Raw(token.encode()))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    for _ in range(int(count)):
        s.send(frame)
    return 0


def matches(kind, args):
    """A predicate over raw frames for KIND."""
    from scapy.all import BOOTP, UDP, Dot1Q, Ether, ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_RA, ICMPv6NDOptPrefixInfo, IPv6
    from scapy.layers.inet6 import ICMPv6ND_Redirect
    if kind == "token":             # token TOKEN: the token's bytes anywhere
        needle = args[0].encode()
        return lambda raw, frame: needle in raw
    if kind == "dhcp-server":       # dhcp-server TOKEN: a BOOTP reply with the token's xid
        xid = token_int(args[0])
        return lambda raw, frame: BOOTP in frame and frame[BOOTP].op == 2 and frame[BOOTP].xid == xid
    if kind == "dhcp-client":       # dhcp-client TOKEN: a BOOTP request with the token's xid
        xid = token_int(args[0])
        return lambda raw, frame: BOOTP in frame and frame[BOOTP].op == 1 and frame[BOOTP].xid == xid
    if kind == "dhcp6":             # dhcp6 SPORT TOKEN: DHCPv6 from SPORT with the token's transaction id
        sport, trid = int(args[0]), token_int(args[1])
        return lambda raw, frame: (UDP in frame and frame[UDP].sport == sport and
                                   bytes(frame[UDP].payload)[1:4] == trid.to_bytes(3, "big"))
    if kind == "ra":                # ra TOKEN: an RA of the token's prefix
        from scapy.all import in6_ptop
        prefix = in6_ptop("fd00:99:%x::" % (token_int(args[0]) & 0xffff))
        return lambda raw, frame: (ICMPv6NDOptPrefixInfo in frame and
                                   in6_ptop(frame[ICMPv6NDOptPrefixInfo].prefix) == prefix)
    if kind == "ra-from":           # ra-from MAC: any RA from MAC
        mac = args[0].lower()
        return lambda raw, frame: ICMPv6ND_RA in frame and frame[Ether].src == mac
    if kind == "redirect":          # redirect MAC
        mac = args[0].lower()
        return lambda raw, frame: ICMPv6ND_Redirect in frame and frame[Ether].src == mac
    if kind == "na":                # na MAC TARGET: an NA from MAC for TARGET
        from scapy.all import in6_ptop
        mac, target = args[0].lower(), in6_ptop(args[1])
        return lambda raw, frame: (ICMPv6ND_NA in frame and frame[Ether].src == mac and
                                   in6_ptop(frame[ICMPv6ND_NA].tgt) == target)
    if kind == "ns-dad":            # ns-dad MAC TARGET: DAD for TARGET from MAC
        from scapy.all import in6_ptop
        mac, target = args[0].lower(), in6_ptop(args[1])
        return lambda raw, frame: (ICMPv6ND_NS in frame and frame[Ether].src == mac and
                                   frame[IPv6].src == "::" and in6_ptop(frame[ICMPv6ND_NS].tgt) == target)
    if kind == "tagged":            # tagged: any 802.1Q/802.1ad frame
        return lambda raw, frame: raw[12:14] in (b"\x81\x00", b"\x88\xa8") or Dot1Q in frame
    raise SystemExit("unknown match %s" % kind)


_parsed = {}


def parsed(log):
    """LOG's frames, raw and dissected, read once."""
    from scapy.all import Ether
    if log not in _parsed:
        try:
            lines = open(log).read().split()
        except FileNotFoundError:
            lines = []
        frames = []
        for line in lines:
            raw = binascii.unhexlify(line)
            try:
                frames.append((raw, Ether(raw)))
            except Exception:
                frames.append((raw, None))
        _parsed[log] = frames
    return _parsed[log]


def count(logs, kind, args):
    """Frames matching in LOGS ("A.log+B.log": both together)."""
    match = matches(kind, args)
    n = 0
    for log in logs.split("+"):
        for raw, frame in parsed(log):
            if kind == "token":
                n += match(raw, None)
            elif frame is not None:
                n += bool(match(raw, frame))
    print(n)
    return 0


def send_batch(iface):
    from scapy.all import sendp
    made = frames()
    batch = [made[words[0]](*words[1:]) for words in (line.split() for line in sys.stdin) if words]
    for frame in batch:
        sendp(frame, iface=iface, verbose=False)
    return 0


def count_batch():
    for line in sys.stdin:
        words = line.split()
        if words:
            count(words[0], words[1], words[2:])
    sys.stdout.flush()
    return 0


def main(argv):
    cmd = argv[0]
    if cmd == "sniff":
        return sniff(argv[1], argv[2])
    if cmd == "send":
        return send(argv[1], argv[2], argv[3:])
    if cmd == "flood":
        return flood(*argv[1:6])
    if cmd == "count":
        return count(argv[1], argv[2], argv[3:])
    if cmd == "send-batch":
        return send_batch(argv[1])
    if cmd == "count-batch":
        return count_batch()
    return 2


sys.exit(main(sys.argv[1:]))
