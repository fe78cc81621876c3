"""Protocol façades: each maps one wire format's RPCs to the fleet domain and builds its messages."""
