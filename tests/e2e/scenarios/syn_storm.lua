local fw = require "faultwire"
-- 100k SYNs at 20k/s from one client. Its own kernel's RSTs are held back
-- (the SYN-ACKs find no socket), so admitted connections stay open: the
-- cap admits 1000 and refuses the rest; the NAT forgets idle ones.
return fw.scenario {
  name = "syn-storm",
  timeout = 60,
  client = "iptables -A OUTPUT -p tcp --tcp-flags RST RST -j DROP && "
        .. "ip6tables -A OUTPUT -p tcp --tcp-flags RST RST -j DROP && "
        .. "$SYNSTORM 100000 20000 && sleep 4",
  faults = {
    fw.conn_cap { max = 1000, per = "global", action = "refuse" },
    fw.idle_timeout { after_s = 2, action = "reset" },
  },
  expect = { fw.exit { code = 0 } },
}
