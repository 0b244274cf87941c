local fw = require "faultwire"
-- The user's own server: a tiny HTTP server in perl (perl-base is on every
-- Debian system), answering one fixed body.
return fw.scenario {
  name = "command-server",
  server = fw.command {
    argv = { "perl", "-MIO::Socket::INET", "-e", [[
      my $s = IO::Socket::INET->new(LocalAddr => "0.0.0.0", LocalPort => 8080, Listen => 16, ReuseAddr => 1) or die "listen: $!";
      while (my $c = $s->accept) {
        while (my $l = <$c>) { last if $l =~ /^\r?$/ }
        my $body = "x" x 100000;
        print $c "HTTP/1.0 200 OK\r\nContent-Length: " . length($body) . "\r\n\r\n" . $body;
        close $c;
      }]] },
    port = 8080,
  },
  client = { "curl", "-4", "-sS", "-o", "out.bin", "http://server.test:8080/" },
  faults = { fw.reset { after_bytes = 20000, dir = "down" } },
  expect = { fw.reported { stderr = "reset" } },
}
