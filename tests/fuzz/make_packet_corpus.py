#!/usr/bin/env python3
"""make_packet_corpus.py [DIR] — write the seed inputs of fuzz_packet
(default: tests/fuzz/corpus/packet next to this script).

The input format is described in fuzz_packet.c and docs/fuzzing.md:
a 4-byte little-endian rule mask, then records of
control (bit 0: 1 = down; bits 1-7: clock step), 2-byte big-endian length,
and the packet from its IP header on; the record ff 00 00 is a flood of
opening SYNs. The packets are what a capture in the
middlebox would show for curl against the built-in server, with valid
checksums: TCP handshakes, data, FIN and RST, a DNS exchange over UDP, ICMP
echo, over IPv4 and IPv6, plus fragments and IPv6 extension headers."""
import os
import struct
import sys

UP, DOWN = 0, 1
C4, S4 = bytes([198, 18, 0, 2]), bytes([198, 19, 0, 2])
C6 = bytes.fromhex("20010db8000c00000000000000000002")
S6 = bytes.fromhex("20010db8000500000000000000000002")
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
ALL_RULES = 31  # fuzz_rules_init in fuzz_packet.c
FLOOD = b"\xff\x00\x00"  # a record that means: 1040 SYNs (FUZZ_FLOOD_FLOWS in fuzz_packet.c)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip(src, dst, proto, payload, frag=0x4000, ttl=64):
    if len(src) == 4:
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0x1C46, frag, ttl, proto, 0, src, dst)
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        return hdr + payload
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), proto, ttl, src, dst) + payload


def pseudo(src, dst, proto, length):
    if len(src) == 4:
        return src + dst + struct.pack("!BBH", 0, proto, length)
    return src + dst + struct.pack("!IxxxB", length, proto)


def tcp(src, dst, sport, dport, seq, ack, flags, data=b"", window=502, options=b""):
    off = (20 + len(options)) // 4
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, window, 0, 0) + options + data
    c = csum(pseudo(src, dst, 6, len(seg)) + seg)
    return ip(src, dst, 6, seg[:16] + struct.pack("!H", c) + seg[18:])


def udp(src, dst, sport, dport, data):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    c = csum(pseudo(src, dst, 17, len(seg)) + seg) or 0xFFFF
    return ip(src, dst, 17, seg[:6] + struct.pack("!H", c) + seg[8:])


def icmp_echo(src, dst):
    if len(src) == 4:
        msg = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1) + b"pingdata"
        return ip(src, dst, 1, msg[:2] + struct.pack("!H", csum(msg)) + msg[4:])
    msg = struct.pack("!BBHHH", 128, 0, 0, 0x1234, 1) + b"pingdata"
    c = csum(pseudo(src, dst, 58, len(msg)) + msg)
    return ip(src, dst, 58, msg[:2] + struct.pack("!H", c) + msg[4:])


def record(direction, step, packet):
    """step: the clock step code (0: 1 us, 1-63: ms, 64-127: (n-63) * 500 ms)."""
    return struct.pack("!BH", (step << 1) | direction, len(packet)) + packet


class Conn:
    """One TCP connection; remembers both sequence numbers."""

    def __init__(self, c, s, cport, sport, cseq=0x1A2B3C4D, sseq=0x5E6F7080):
        self.c, self.s, self.cport, self.sport = c, s, cport, sport
        self.cseq, self.sseq = cseq, sseq

    def up(self, flags, data=b"", step=1, options=b""):
        p = tcp(self.c, self.s, self.cport, self.sport, self.cseq, self.sseq if flags & ACK else 0, flags, data,
                options=options)
        self.cseq = (self.cseq + len(data) + (1 if flags & (SYN | FIN) else 0)) & 0xFFFFFFFF
        return record(UP, step, p)

    def down(self, flags, data=b"", step=1):
        p = tcp(self.s, self.c, self.sport, self.cport, self.sseq, self.cseq, flags, data)
        self.sseq = (self.sseq + len(data) + (1 if flags & (SYN | FIN) else 0)) & 0xFFFFFFFF
        return record(DOWN, step, p)

    def handshake(self):
        mss = b"\x02\x04\x05\xb4\x04\x02\x08\x0a\x00\x01\xe2\x40\x00\x00\x00\x00\x01\x03\x03\x07"
        return self.up(SYN, options=mss) + self.down(SYN | ACK) + self.up(ACK)

    def close(self):
        return self.down(FIN | ACK) + self.up(FIN | ACK) + self.down(ACK)


def download(c, s, cport, sport=80, body=400, chunks=3, idle=0):
    k = Conn(c, s, cport, sport)
    out = k.handshake()
    out += k.up(PSH | ACK, b"GET /bytes/4200 HTTP/1.1\r\nHost: server.test\r\n\r\n")
    for i in range(chunks):
        out += k.down(ACK, bytes((i + j) & 0xFF for j in range(body)), step=idle if i == 1 and idle else 1)
        out += k.up(ACK, step=0)
    return out + k.close()


def reset_by_server(c, s, cport):
    k = Conn(c, s, cport, 80, cseq=0x01020304, sseq=0x0A0B0C0D)
    return k.handshake() + k.up(PSH | ACK, b"GET / HTTP/1.1\r\n\r\n") + k.down(RST | ACK)


def refused(c, s, cport):
    k = Conn(c, s, cport, 8443)
    return k.up(SYN) + k.down(RST | ACK)


def concurrent(c, s, first_port, n=4):
    """n connections open at once, as a download manager opens them."""
    conns = [Conn(c, s, first_port + 2 * i, 80, cseq=0x100000 * (i + 1), sseq=0x7000000 + i) for i in range(n)]
    out = b"".join(k.up(SYN) for k in conns)
    out += b"".join(k.down(SYN | ACK) + k.up(ACK) for k in conns)
    out += b"".join(k.up(PSH | ACK, b"GET /bytes/100 HTTP/1.1\r\n\r\n") + k.down(PSH | ACK, b"x" * 100)
                    for k in conns)
    return out + b"".join(k.close() for k in conns)


def dns(c, s):
    q = bytes.fromhex("abcd01000001000000000000076578616d706c6503636f6d0000010001")
    a = bytes.fromhex("abcd81800001000100000000076578616d706c6503636f6d0000010001c00c000100010000012c00045db8d822")
    return record(UP, 2, udp(c, s, 53000, 53, q)) + record(DOWN, 3, udp(s, c, 53, 53000, a))


def fragments_v4():
    data = bytes(range(256)) * 2
    first = ip(C4, S4, 17, struct.pack("!HHHH", 53001, 9999, 8 + len(data), 0) + data[:200], frag=0x2000)
    later = ip(C4, S4, 17, data[200:], frag=(208 // 8))
    return record(UP, 1, first) + record(UP, 0, later)


def ipv6_extensions():
    # hop-by-hop (8 bytes, PadN) then a SYN; a routing header before UDP;
    # a first and a later fragment.
    syn = tcp(C6, S6, 41300, 80, 7, 0, SYN)
    payload = syn[40:]
    hop = bytes([6, 0, 1, 4, 0, 0, 0, 0])
    with_hop = struct.pack("!IHBB16s16s", 6 << 28, len(hop) + len(payload), 0, 64, C6, S6) + hop + payload
    u = udp(C6, S6, 53002, 53, b"x" * 20)[40:]
    routing = bytes([17, 0, 0, 0, 0, 0, 0, 0])
    with_rt = struct.pack("!IHBB16s16s", 6 << 28, len(routing) + len(u), 43, 64, C6, S6) + routing + u
    frag1 = bytes([17, 0, 0x00, 0x01, 0, 0, 0, 42])
    first = struct.pack("!IHBB16s16s", 6 << 28, len(frag1) + len(u), 44, 64, C6, S6) + frag1 + u
    frag2 = bytes([17, 0, 0x00, 0x18, 0, 0, 0, 42])
    later = struct.pack("!IHBB16s16s", 6 << 28, len(frag2) + 16, 44, 64, C6, S6) + frag2 + b"y" * 16
    return record(UP, 1, with_hop) + record(UP, 1, with_rt) + record(UP, 1, first) + record(UP, 0, later)


def mixed(c, s):
    """Several connections over time: enough for conn_cap, rate_block,
    refuse on flows 2 and 3, idle timeouts and time-driven resets."""
    out = download(c, s, 41234, body=300, chunks=2)
    out += reset_by_server(c, s, 41236)
    out += refused(c, s, 41238)
    out += concurrent(c, s, 42000)
    out += download(c, s, 41240, sport=443, body=1300, chunks=3, idle=90)  # 13.5 s idle mid-download
    out += dns(c, s)
    out += record(UP, 5, icmp_echo(c, s))
    out += download(c, s, 41242, sport=8080, body=200, chunks=2)
    return out


def header(mask):
    return struct.pack("<I", mask)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                  "corpus", "packet")
    os.makedirs(out_dir, exist_ok=True)
    everything = (1 << ALL_RULES) - 1
    seeds = {
        "v4_download_no_rules": header(0) + download(C4, S4, 41234),
        "v6_download_no_rules": header(0) + download(C6, S6, 41234),
        "v4_download_all_rules": header(everything) + download(C4, S4, 41234),
        "v6_download_all_rules": header(everything) + download(C6, S6, 41234),
        "v4_rst_by_server": header(0) + reset_by_server(C4, S4, 41236),
        "v6_rst_by_server": header(0) + reset_by_server(C6, S6, 41236),
        "v4_refused": header(0) + refused(C4, S4, 41238),
        "v4_udp_dns": header(everything) + dns(C4, S4),
        "v6_udp_dns": header(everything) + dns(C6, S6),
        "v4_icmp": header(everything) + record(UP, 1, icmp_echo(C4, S4)),
        "v6_icmp": header(everything) + record(UP, 1, icmp_echo(C6, S6)),
        "v4_fragments": header(everything) + fragments_v4(),
        "v6_extensions": header(everything) + ipv6_extensions(),
    }
    # A flood first: the table grows, conn_cap and rate_block see many
    # connections, finished flows are retired (long idle steps).
    seeds["flood_no_rules"] = header(0) + FLOOD + download(C4, S4, 41234, idle=100)
    seeds["flood_conn_cap_source"] = header(1 << 15) + FLOOD + mixed(C4, S4)
    seeds["flood_conn_cap_global"] = header(1 << 16) + FLOOD + mixed(C6, S6)
    seeds["flood_rate_block"] = header(1 << 19 | 1 << 21) + FLOOD + mixed(C4, S4)
    # Each rule alone in front of a mixed run, IPv4 and IPv6 alternating.
    for i in range(ALL_RULES):
        c, s = (C4, S4) if i % 2 == 0 else (C6, S6)
        seeds["rule%02d_mixed_%s" % (i, "v4" if i % 2 == 0 else "v6")] = header(1 << i) + mixed(c, s)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(out_dir, name + ".bin"), "wb") as f:
            f.write(data)
    print("%d seeds in %s" % (len(seeds), out_dir))


if __name__ == "__main__":
    main()
