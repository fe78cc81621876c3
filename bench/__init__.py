"""`make bench`: the server against a bare handler of its own stack, on this machine, in one session."""
